# The tenant's events in BigQuery, encrypted with a key of the tenant's own (CMEK).

# Key rings cannot be deleted in Cloud KMS: a destroyed tenant leaves its (empty) key ring behind,
# and creating the same tenant again needs `terraform import` of it.
resource "google_kms_key_ring" "tenant" {
  project  = var.project_id
  name     = "workcat-${var.tenant}"
  location = local.kms_location
}

resource "google_kms_crypto_key" "bigquery" {
  name            = "workcat-${var.tenant}-bigquery"
  key_ring        = google_kms_key_ring.tenant.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = var.kms_rotation_period
  labels          = local.labels
}

# Only BigQuery's service agent may use the key, and only this key.
resource "google_kms_crypto_key_iam_member" "bigquery_agent" {
  crypto_key_id = google_kms_crypto_key.bigquery.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_bigquery_default_service_account.this.email}"
}

resource "google_bigquery_dataset" "events" {
  project       = var.project_id
  dataset_id    = "workcat_${var.tenant}"
  friendly_name = "workcat ${var.tenant} events"
  description   = "SSO events of workcat tenant ${var.tenant}."
  location      = local.bigquery_location

  # Partitions older than the tenant's retention expire (days to milliseconds).
  default_partition_expiration_ms = var.retention_days * 24 * 60 * 60 * 1000

  # `terraform destroy` fails while the dataset holds tables: deleting a tenant's events is a
  # deliberate step (bq rm -r), not a side effect.
  delete_contents_on_destroy = false

  default_encryption_configuration {
    kms_key_name = google_kms_crypto_key.bigquery.id
  }

  labels = local.labels

  depends_on = [google_kms_crypto_key_iam_member.bigquery_agent]
}
