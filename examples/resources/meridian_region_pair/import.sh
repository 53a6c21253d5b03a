# A region pair is imported by its primary region and name: meridian reads the
# manifest it keeps in SSM there (/meridian/region_pair/<name>) and adopts
# every primitive the manifest lists.
terraform import meridian_region_pair.checkout us-east-1/checkout
