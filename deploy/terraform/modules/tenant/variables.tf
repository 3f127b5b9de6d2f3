# Required: project_id, region, tenant, image. Everything else has a default.

variable "project_id" {
  description = "Google Cloud project that holds the tenant's resources."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run service, worker pool and job, the Cloud Scheduler job and (unless bigquery_location is set) the BigQuery dataset and its KMS key."
  type        = string
}

variable "tenant" {
  description = "The workcat tenant id (as in `workcat tenants add`): 2-40 characters of a-z, 0-9 and _, starting with a letter (packages/tenancy/src/TenantId.ts)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{1,39}$", var.tenant))
    error_message = "A tenant id is 2-40 characters of a-z, 0-9 and _, starting with a letter."
  }
}

variable "image" {
  description = "The workcat container image, e.g. REGION-docker.pkg.dev/PROJECT/workcat/workcat:TAG (its entrypoint is the `workcat` binary)."
  type        = string
}

variable "bigquery_location" {
  description = "Location of the tenant's BigQuery dataset and of the KMS key that encrypts it (a region, or the multi-region US or EU). Null: the region."
  type        = string
  default     = null
}

variable "retention_days" {
  description = "Days a partition of the tenant's BigQuery tables is kept (default_partition_expiration_ms). Keep it equal to the tenant's `workcat tenants set --retention-days` (default 730)."
  type        = number
  default     = 730

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days is a whole number from 1 to 3650, as workcat's retention-days setting."
  }
}

variable "labels" {
  description = "Extra labels for every resource that takes labels. The labels app = \"workcat\" and tenant = the tenant id are always set and cannot be overridden."
  type        = map(string)
  default     = {}
}

variable "kms_rotation_period" {
  description = "Rotation period of the tenant's KMS crypto key, in seconds with an s suffix."
  type        = string
  default     = "7776000s"
}

variable "categorizer" {
  description = "WORKCAT_CATEGORIZER: offline (no key, no network) or openai. With openai the module also creates the tenant's OPENAI_API_KEY secret."
  type        = string
  default     = "offline"

  validation {
    condition     = contains(["offline", "openai"], var.categorizer)
    error_message = "categorizer is offline or openai."
  }
}

variable "warehouse" {
  description = "Where workcat keeps the tenant's events: bigquery (this module's dataset; sets WORKCAT_WAREHOUSE, WORKCAT_BQ_PROJECT and WORKCAT_BQ_LOCATION) or postgres (the tenant's PostgreSQL schema; the dataset is still created)."
  type        = string
  default     = "bigquery"

  validation {
    condition     = contains(["bigquery", "postgres"], var.warehouse)
    error_message = "warehouse is bigquery or postgres."
  }
}

variable "env" {
  description = "Extra plain environment variables for every workcat container (WORKCAT_CONCURRENCY, WORKCAT_LLM_MODEL_CATEGORIZE, OPENAI_BASE_URL, OTEL_EXPORTER_OTLP_ENDPOINT, ...). Secrets do not go here."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.env), ["DATABASE_URL", "WORKCAT_MASTER_KEY", "OPENAI_API_KEY", "PORT"])) == 0
    error_message = "DATABASE_URL, WORKCAT_MASTER_KEY and OPENAI_API_KEY come from Secret Manager; Cloud Run sets PORT."
  }
}

variable "vpc_network" {
  description = "VPC network for Direct VPC egress (to reach Cloud SQL on its private IP). Null: no VPC access."
  type        = string
  default     = null
}

variable "vpc_subnetwork" {
  description = "Subnetwork for Direct VPC egress, in the region. Null: the subnetwork named like vpc_network."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Deletion protection of the Cloud Run service, worker pool and job and of the tenant's secrets: while true, Terraform refuses to destroy them (set false and apply before removing a tenant)."
  type        = bool
  default     = true
}

variable "ingress" {
  description = "Ingress of the API service: INGRESS_TRAFFIC_ALL (identity providers' event hooks reach it), INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.ingress)
    error_message = "ingress is INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "allow_unauthenticated" {
  description = "Turn off Cloud Run's invoker IAM check on the API service (invoker_iam_disabled). workcat authenticates every /api/v1 request with its own bearer tokens, which Cloud Run's check would reject; no allUsers binding is created."
  type        = bool
  default     = true
}

variable "api_min_instances" {
  description = "Minimum instances of the API service. At least 1 keeps the built-in worker of `workcat serve` (queued runs, the daily ledger sweep) running between requests."
  type        = number
  default     = 1
}

variable "api_max_instances" {
  description = "Maximum instances of the API service. Each opens at most WORKCAT_CONTROL_POOL_SIZE + WORKCAT_MAX_TENANT_POOLS x WORKCAT_TENANT_POOL_SIZE database connections (4 + 1 x 6 here)."
  type        = number
  default     = 3
}

variable "api_cpu" {
  description = "CPU limit of the API container."
  type        = string
  default     = "1"
}

variable "api_memory" {
  description = "Memory limit of the API container."
  type        = string
  default     = "1Gi"
}

variable "ingest_instances" {
  description = "Instances of the Pub/Sub consumer worker pool (each runs `workcat ingest --from pubsub`; 0 stops consuming)."
  type        = number
  default     = 1
}

variable "ingest_format" {
  description = "--format of the Pub/Sub consumer: auto (detected per message), okta, gws or entra."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "okta", "gws", "entra"], var.ingest_format)
    error_message = "ingest_format is auto, okta, gws or entra."
  }
}

variable "ingest_max_messages" {
  description = "--max-messages of the Pub/Sub consumer: messages held unacknowledged at once (flow control)."
  type        = number
  default     = 500
}

variable "ingest_cpu" {
  description = "CPU limit of the Pub/Sub consumer container."
  type        = string
  default     = "1"
}

variable "ingest_memory" {
  description = "Memory limit of the Pub/Sub consumer container."
  type        = string
  default     = "1Gi"
}

variable "ack_deadline_seconds" {
  description = "Ack deadline of the intake subscription (the client extends it while a batch is being committed)."
  type        = number
  default     = 60

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds is from 10 to 600."
  }
}

variable "message_retention_duration" {
  description = "How long the intake and dead-letter subscriptions keep unacknowledged messages (10m to 31 days, seconds with an s suffix)."
  type        = string
  default     = "604800s"
}

variable "max_delivery_attempts" {
  description = "Deliveries of a message to the intake subscription before Pub/Sub moves it to the dead-letter topic (5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts is from 5 to 100."
  }
}

variable "nightly_task_timeout" {
  description = "Timeout of one attempt of the nightly job (seconds with an s suffix). At the timeout the run is interrupted (exit 130) and a retry resumes it from its checkpoints."
  type        = string
  default     = "10800s"
}

variable "nightly_max_retries" {
  description = "Retries of a failed nightly task. workcat's nightly is durable: a retry resumes the run, or retries only its failed users."
  type        = number
  default     = 2
}

variable "nightly_cpu" {
  description = "CPU limit of the nightly job's container."
  type        = string
  default     = "2"
}

variable "nightly_memory" {
  description = "Memory limit of the nightly job's container."
  type        = string
  default     = "4Gi"
}
