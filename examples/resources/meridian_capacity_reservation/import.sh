# <primary_region>/<name>: meridian reads the manifest it keeps in SSM Parameter Store there.
# The demand history is not in the cloud; the next plan takes it from the configuration.
terraform import meridian_capacity_reservation.web us-east-1/checkout-web
