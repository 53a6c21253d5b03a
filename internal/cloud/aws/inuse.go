package aws

// The objects AWS will not delete while others use them; see engine.InUse.

// InUse: DeleteHealthCheck answers HealthCheckInUse while a record set names the check.
func (healthCheckDriver) InUse() {}

// InUse: DeleteHostedZone answers HostedZoneNotEmpty while it holds record sets.
func (zoneDriver) InUse() {}

// InUse: DeleteRole answers DeleteConflict while the role has policies.
func (roleDriver) InUse() {}
