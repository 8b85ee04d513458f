package fleet

// The leadership lease key lives in a file of its own so that the lease can
// be added without touching keys.go; SCHEMA.md describes it under
// "Leadership leases".

// leaseKeyPrefix starts every leadership lease key. It holds no hash tag:
// every lease operation touches its one key only.
const leaseKeyPrefix = "aiadmin:lease:"

// LeaseKey is the string holding the id of the current holder of the
// leadership lease called name (for example "prober"), with the lease's TTL.
func LeaseKey(name string) string {
	return leaseKeyPrefix + name
}
