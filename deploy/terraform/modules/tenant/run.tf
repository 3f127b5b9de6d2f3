# What runs: the API service (`workcat serve`), the Pub/Sub consumer (`workcat ingest --from
# pubsub`, a worker pool: it pulls, listens on no port), and the nightly job (`workcat run nightly`)
# with its Cloud Scheduler trigger. All three run as the tenant's runtime service account, with
# DATABASE_URL and WORKCAT_MASTER_KEY from the tenant's secrets.

resource "google_cloud_run_v2_service" "api" {
  project     = var.project_id
  name        = "workcat-${local.tenant_run}-api"
  location    = var.region
  description = "workcat API and event hooks of tenant ${var.tenant}"
  labels      = local.labels

  ingress              = var.ingress
  invoker_iam_disabled = var.allow_unauthenticated
  deletion_protection  = var.deletion_protection

  template {
    labels          = local.labels
    service_account = google_service_account.runtime.email

    scaling {
      min_instance_count = var.api_min_instances
      max_instance_count = var.api_max_instances
    }

    dynamic "vpc_access" {
      for_each = local.use_vpc ? [1] : []
      content {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = var.vpc_network
          subnetwork = var.vpc_subnetwork
        }
      }
    }

    containers {
      image = var.image
      # Its worker drives this tenant's runs only, whatever else the control plane holds.
      args = ["serve", "--worker-tenant", var.tenant]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.api_cpu
          memory = var.api_memory
        }
        # CPU between requests too: `serve` runs a worker (queued runs, the ledger sweep).
        cpu_idle = false
      }

      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.database_url.secret_id
            version = "latest"
          }
        }
      }

      env {
        name = "WORKCAT_MASTER_KEY"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.master_key.secret_id
            version = "latest"
          }
        }
      }

      dynamic "env" {
        for_each = local.openai_secret
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      dynamic "env" {
        for_each = local.plain_env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  # A revision that cannot read its secrets does not start.
  depends_on = [
    google_secret_manager_secret_iam_member.runtime_master_key,
    google_secret_manager_secret_iam_member.runtime_database_url,
    google_secret_manager_secret_iam_member.runtime_openai_api_key,
  ]
}

resource "google_cloud_run_v2_worker_pool" "ingest" {
  project     = var.project_id
  name        = "workcat-${local.tenant_run}-ingest"
  location    = var.region
  description = "workcat Pub/Sub consumer of tenant ${var.tenant}"
  labels      = local.labels

  deletion_protection = var.deletion_protection

  scaling {
    manual_instance_count = var.ingest_instances
  }

  template {
    labels          = local.labels
    service_account = google_service_account.runtime.email

    dynamic "vpc_access" {
      for_each = local.use_vpc ? [1] : []
      content {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = var.vpc_network
          subnetwork = var.vpc_subnetwork
        }
      }
    }

    containers {
      image = var.image
      args = [
        "ingest",
        "--tenant", var.tenant,
        "--from", "pubsub",
        "--subscription", google_pubsub_subscription.intake.id,
        "--format", var.ingest_format,
        "--max-messages", tostring(var.ingest_max_messages),
      ]

      resources {
        limits = {
          cpu    = var.ingest_cpu
          memory = var.ingest_memory
        }
      }

      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.database_url.secret_id
            version = "latest"
          }
        }
      }

      env {
        name = "WORKCAT_MASTER_KEY"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.master_key.secret_id
            version = "latest"
          }
        }
      }

      dynamic "env" {
        for_each = local.plain_env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.runtime_master_key,
    google_secret_manager_secret_iam_member.runtime_database_url,
    google_pubsub_subscription_iam_member.runtime_subscriber,
    google_pubsub_subscription_iam_member.runtime_viewer,
  ]
}

resource "google_cloud_run_v2_job" "nightly" {
  project  = var.project_id
  name     = "workcat-${local.tenant_run}-nightly"
  location = var.region
  labels   = local.labels

  deletion_protection = var.deletion_protection

  template {
    labels      = local.labels
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.runtime.email
      timeout         = var.nightly_task_timeout
      max_retries     = var.nightly_max_retries

      dynamic "vpc_access" {
        for_each = local.use_vpc ? [1] : []
        content {
          egress = "PRIVATE_RANGES_ONLY"
          network_interfaces {
            network    = var.vpc_network
            subnetwork = var.vpc_subnetwork
          }
        }
      }

      containers {
        image = var.image
        # The night of today's date (UTC): the windows end the day before, so at 02:00 UTC the
        # run covers every event up to midnight.
        args = ["run", "nightly", "--tenant", var.tenant]

        resources {
          limits = {
            cpu    = var.nightly_cpu
            memory = var.nightly_memory
          }
        }

        env {
          name = "DATABASE_URL"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.database_url.secret_id
              version = "latest"
            }
          }
        }

        env {
          name = "WORKCAT_MASTER_KEY"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.master_key.secret_id
              version = "latest"
            }
          }
        }

        dynamic "env" {
          for_each = local.openai_secret
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }

        dynamic "env" {
          for_each = local.plain_env
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.runtime_master_key,
    google_secret_manager_secret_iam_member.runtime_database_url,
    google_secret_manager_secret_iam_member.runtime_openai_api_key,
  ]
}

# 02:00 UTC every night: start an execution of the job through the Cloud Run Admin API.
resource "google_cloud_scheduler_job" "nightly" {
  project     = var.project_id
  region      = var.region
  name        = "workcat-${var.tenant}-nightly"
  description = "workcat nightly run of tenant ${var.tenant}"

  schedule         = "0 2 * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "180s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.nightly.name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_invoker]
}
