# Against AWS: credentials come from the usual chain (environment, profile, role).
provider "meridian" {
  default_tags = {
    cost-centre = "cc-1234"
    managed-by  = "meridian"
  }
}

# Against an emulator (moto, LocalStack): one endpoint for every service.
provider "meridian" {
  alias = "local"
  aws {
    endpoint                    = "http://127.0.0.1:5000"
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
    emulator                    = true # moto: see the emulator attribute
  }
}
