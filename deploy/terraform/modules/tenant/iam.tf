# Every grant of the tenant's stack. Principals: the tenant's own service accounts (main.tf) and
# Google service agents. Resources: this tenant's own, except the one project-level grant.
# (The KMS grant to BigQuery's service agent is in bigquery.tf, beside its key.)

# --- runtime service account -------------------------------------------------------------------

# Read and write the tenant's tables, in the tenant's dataset only.
resource "google_bigquery_dataset_iam_member" "runtime_data_editor" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.events.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.runtime.email}"
}

# BigQuery runs every query and load as a job, and jobs belong to a project, not to a dataset:
# bigquery.jobs.create can only be granted on the project. jobUser gives no access to any data;
# what a job reads and writes is still limited by the dataset grant above.
resource "google_project_iam_member" "runtime_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# Pull and acknowledge the tenant's intake subscription.
resource "google_pubsub_subscription_iam_member" "runtime_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.intake.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.runtime.email}"
}

# `workcat ingest --from pubsub` first checks that the subscription exists (subscriptions.get),
# which roles/pubsub.subscriber does not allow. Viewer of this one subscription only.
resource "google_pubsub_subscription_iam_member" "runtime_viewer" {
  project      = var.project_id
  subscription = google_pubsub_subscription.intake.name
  role         = "roles/pubsub.viewer"
  member       = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_master_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.master_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_database_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_openai_api_key" {
  count = length(google_secret_manager_secret.openai_api_key)

  project   = var.project_id
  secret_id = google_secret_manager_secret.openai_api_key[count.index].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

# --- scheduler service account -----------------------------------------------------------------

# Start executions of the tenant's nightly job, and nothing else.
resource "google_cloud_run_v2_job_iam_member" "scheduler_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.nightly.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# --- Pub/Sub service agent: what dead lettering requires -----------------------------------------

# Publish undeliverable messages to the tenant's dead-letter topic.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# Acknowledge (remove) from the intake subscription the messages it forwarded.
resource "google_pubsub_subscription_iam_member" "pubsub_agent_intake_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.intake.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
