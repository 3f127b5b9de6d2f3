output "dataset_id" {
  description = "The tenant's BigQuery dataset id (workcat_<tenant>)."
  value       = google_bigquery_dataset.events.dataset_id
}

output "kms_key_id" {
  description = "The KMS crypto key that encrypts the tenant's dataset."
  value       = google_kms_crypto_key.bigquery.id
}

output "topic" {
  description = "The Pub/Sub topic the tenant's SSO events are published to (projects/P/topics/NAME)."
  value       = google_pubsub_topic.sso_events.id
}

output "subscription" {
  description = "workcat's intake subscription on the topic (projects/P/subscriptions/NAME)."
  value       = google_pubsub_subscription.intake.id
}

output "dead_letter_subscription" {
  description = "The subscription holding the messages the intake could not take."
  value       = google_pubsub_subscription.dead_letter.id
}

output "service_url" {
  description = "URL of the tenant's API service (`/docs`, `/healthz`, `/api/v1/...`)."
  value       = google_cloud_run_v2_service.api.uri
}

output "worker_pool_name" {
  description = "Name of the Cloud Run worker pool that consumes the intake subscription."
  value       = google_cloud_run_v2_worker_pool.ingest.name
}

output "job_name" {
  description = "Name of the nightly Cloud Run job (`gcloud run jobs execute NAME --region REGION` runs it now)."
  value       = google_cloud_run_v2_job.nightly.name
}

output "service_account_email" {
  description = "The tenant's runtime service account (API service, consumer, nightly job)."
  value       = google_service_account.runtime.email
}

output "scheduler_service_account_email" {
  description = "The service account Cloud Scheduler starts the nightly job as."
  value       = google_service_account.scheduler.email
}

output "secret_ids" {
  description = "The tenant's Secret Manager secrets, by environment variable: add their versions with `gcloud secrets versions add`."
  value = merge(
    {
      DATABASE_URL       = google_secret_manager_secret.database_url.secret_id
      WORKCAT_MASTER_KEY = google_secret_manager_secret.master_key.secret_id
    },
    local.openai_secret
  )
}
