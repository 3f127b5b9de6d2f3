# The tenant's secrets. Terraform creates them empty: their values never pass through Terraform
# or its state. Add them with `gcloud secrets versions add` (README.md) before the Cloud Run
# resources are created; the containers read version "latest".

resource "google_secret_manager_secret" "master_key" {
  project             = var.project_id
  secret_id           = "workcat-${var.tenant}-master-key"
  labels              = local.labels
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "database_url" {
  project             = var.project_id
  secret_id           = "workcat-${var.tenant}-database-url"
  labels              = local.labels
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "openai_api_key" {
  count = var.categorizer == "openai" ? 1 : 0

  project             = var.project_id
  secret_id           = "workcat-${var.tenant}-openai-api-key"
  labels              = local.labels
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }
}
