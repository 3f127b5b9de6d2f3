variable "project_id" {
  description = "Google Cloud project of the workcat deployment."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run resources, the Cloud Scheduler jobs and (by default) the BigQuery datasets."
  type        = string
}

variable "image" {
  description = "The workcat container image, e.g. REGION-docker.pkg.dev/PROJECT/workcat/workcat:TAG."
  type        = string
}

variable "vpc_network" {
  description = "VPC network through which the workcat containers reach Cloud SQL's private IP. Null: no VPC access."
  type        = string
  default     = null
}

variable "vpc_subnetwork" {
  description = "Subnetwork of vpc_network in the region, for Direct VPC egress. Null: the one named like the network."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Deletion protection of every tenant's Cloud Run resources and secrets."
  type        = bool
  default     = true
}
