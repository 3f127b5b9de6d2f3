# One workcat tenant on Google Cloud: its BigQuery dataset (CMEK), Pub/Sub intake, secrets,
# Cloud Run API service, Pub/Sub consumer, nightly job and its schedule, and the service accounts
# that run them. Nothing here grants anything on a resource of another tenant or project-wide,
# except roles/bigquery.jobUser (see iam.tf).

locals {
  # Tenant ids may hold underscores; Cloud Run and service account names may not.
  tenant_dns = replace(var.tenant, "_", "-")

  # Cloud Run names (with their -api/-ingest/-nightly suffix) stay under 49 characters: tenant ids
  # longer than 30 characters are cut to 23 and given a hash of the whole id to stay unique.
  tenant_run = length(local.tenant_dns) <= 30 ? local.tenant_dns : "${substr(local.tenant_dns, 0, 23)}-${substr(sha1(var.tenant), 0, 6)}"

  # Service account ids are 6-30 characters: wc-<20>-sched at most.
  tenant_sa = length(local.tenant_dns) <= 20 ? local.tenant_dns : "${substr(local.tenant_dns, 0, 13)}-${substr(sha1(var.tenant), 0, 6)}"

  # app and tenant come last: var.labels cannot override them.
  labels = merge(var.labels, { app = "workcat", tenant = var.tenant })

  bigquery_location = coalesce(var.bigquery_location, var.region)
  # A CMEK key must be in the dataset's location; the multi-regions are named differently in KMS.
  kms_location = lookup({ US = "us", EU = "europe" }, upper(local.bigquery_location), lower(local.bigquery_location))

  use_vpc = var.vpc_network != null || var.vpc_subnetwork != null

  # Plain settings of every workcat container. HOST: Cloud Run sends traffic to 0.0.0.0:$PORT.
  # WORKCAT_MAX_TENANT_POOLS = 1: a stack's control plane holds this one tenant, so a process
  # needs at most 4 + 1 x 6 database connections.
  # With warehouse = "bigquery", workcat keeps the events in dataset workcat_<tenant> of
  # WORKCAT_BQ_PROJECT (the dataset below; its tables inherit the dataset's CMEK key).
  plain_env = merge(
    {
      WORKCAT_CATEGORIZER      = var.categorizer
      WORKCAT_MAX_TENANT_POOLS = "1"
      GOOGLE_CLOUD_PROJECT     = var.project_id
      OTEL_SERVICE_NAME        = "workcat-${local.tenant_dns}"
      WORKCAT_WAREHOUSE        = var.warehouse
    },
    var.warehouse == "bigquery" ? {
      WORKCAT_BQ_PROJECT  = var.project_id
      WORKCAT_BQ_LOCATION = local.bigquery_location
    } : {},
    var.env,
    { HOST = "0.0.0.0" }
  )

  # OPENAI_API_KEY, only with categorizer = "openai".
  openai_secret = { for s in google_secret_manager_secret.openai_api_key : "OPENAI_API_KEY" => s.secret_id }
}

data "google_project" "this" {
  project_id = var.project_id
}

# BigQuery's service agent (bq-PROJECT_NUMBER@bigquery-encryption.iam.gserviceaccount.com): it
# encrypts and decrypts the dataset's tables with the tenant's key.
data "google_bigquery_default_service_account" "this" {
  project = var.project_id
}

# The tenant's runtime identity: the API service, the Pub/Sub consumer and the nightly job.
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "wc-${local.tenant_sa}-run"
  display_name = "workcat ${var.tenant} runtime"
  description  = "Runs workcat for tenant ${var.tenant}: API service, Pub/Sub consumer, nightly job."
}

# The identity Cloud Scheduler calls the Cloud Run Admin API with, to start the nightly job.
resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "wc-${local.tenant_sa}-sched"
  display_name = "workcat ${var.tenant} nightly scheduler"
  description  = "Starts the nightly Cloud Run job of workcat tenant ${var.tenant}."
}
