package fleet

import (
	"strconv"
	"strings"
)

// Every key, field, member and channel name of the fleet schema is built in
// this file and nowhere else. SCHEMA.md describes the same names as a contract.
//
// Hash tags put the keys that one operation touches together in one cluster
// slot: the whole registry shares {aiadmin:reg}, a user's affinity lives under
// {aiadmin:aff:<user>}, and a backend URL's demand under {aiadmin:dem:<url>}.
// An id holding "}" still keeps each entity in one slot, because the tag ends
// at the first "}" and every key of the entity starts with the same text.

const (
	registryTag = "{aiadmin:reg}"

	// registryModelPrefix is passed to the registry scripts, which append a
	// model id to it: the scripts learn a server's old models only by reading
	// them, so they cannot receive those keys from the caller. The prefix
	// carries the registry hash tag, so the keys stay in the registry slot.
	registryModelPrefix = registryTag + ":model:"

	affinityTagPrefix = "{aiadmin:aff:"
	demandTagPrefix   = "{aiadmin:dem:"

	// leaseIDLen is the length of the hex lease ids that StartRequest makes;
	// a lease member is the id, a colon and the model id.
	leaseIDLen = 32
)

// RegistryServersKey is the sorted set (all scores 0) of the URLs of the
// servers a provider runs.
func RegistryServersKey(provider string) string {
	return registryTag + ":servers:" + provider
}

// registryServerModelsPrefix is the part of RegistryServerModelsKey before the
// URL; the snapshot script appends URLs to it.
func registryServerModelsPrefix(provider string) string {
	return registryTag + ":server:" + provider + ":"
}

// RegistryServerModelsKey is the sorted set (all scores 0) of the model ids
// the server at url serves for provider.
func RegistryServerModelsKey(provider, url string) string {
	return registryServerModelsPrefix(provider) + url
}

// RegistryModelKey is the sorted set (all scores 0) of the backend URLs that
// serve modelID, whatever their provider.
func RegistryModelKey(modelID string) string {
	return registryModelPrefix + modelID
}

// RefreshChannel is the pub/sub channel on which a change of the registry is
// announced, so that routers reload their routing tables.
func RefreshChannel() string {
	return "aiadmin:reg:refresh"
}

// AffinityKey is the hash of a user's pinned sessions: one field per provider
// and model (see affinityField), valued "<expiry epoch ms>:<url>".
func AffinityKey(userID string) string {
	return affinityTagPrefix + userID + "}:sessions"
}

// affinityField names a user's pin for one provider and model. Provider names
// hold no colon, so the first colon splits the field unambiguously.
func affinityField(provider, modelID string) string {
	return provider + ":" + modelID
}

// parseAffinityField splits an affinityField into its provider and model id;
// ok is false when the field holds no colon.
func parseAffinityField(f string) (provider, modelID string, ok bool) {
	return strings.Cut(f, ":")
}

// affinityValue encodes a pin as its expiry and URL.
func affinityValue(expiryMs int64, url string) string {
	return strconv.FormatInt(expiryMs, 10) + ":" + url
}

// parseAffinityValue decodes affinityValue; ok is false for a malformed value.
func parseAffinityValue(v string) (expiryMs int64, url string, ok bool) {
	exp, url, found := strings.Cut(v, ":")
	if !found {
		return 0, "", false
	}
	ms, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return ms, url, true
}

// AffinityStatsKey is the hash of affinity counters for every provider; its
// fields are named by affinityStatsField.
func AffinityStatsKey() string {
	return "aiadmin:aff:stats"
}

// Counter names inside AffinityStatsKey.
const (
	statHits      = "hits"
	statMisses    = "misses"
	statFallbacks = "fallbacks"
)

// affinityStatsField names one provider's counter in AffinityStatsKey.
func affinityStatsField(provider, counter string) string {
	return provider + ":" + counter
}

// DemandLeasesKey is the sorted set of the requests in flight at url: members
// are leaseMember values, scores the lease expiry in epoch ms.
func DemandLeasesKey(url string) string {
	return demandTagPrefix + url + "}:leases"
}

// DemandLastUseKey is the string holding the epoch ms of the last request
// started at url.
func DemandLastUseKey(url string) string {
	return demandTagPrefix + url + "}:last"
}

// DemandWindowKey is the hash counting the requests started at url during one
// ten-second bucket (bucket = epoch ms / 10000), one field per model id.
func DemandWindowKey(url string, bucket int64) string {
	return demandTagPrefix + url + "}:win:" + strconv.FormatInt(bucket, 10)
}

// DemandFleetWindowKey counts the requests started at any URL of the fleet
// during one ten-second bucket, so a fleet's 5-minute total is a fixed
// number of reads whatever its size. It is one key per bucket, in a slot of
// its own.
func DemandFleetWindowKey(bucket int64) string {
	return "{aiadmin:dem-fleet}:win:" + strconv.FormatInt(bucket, 10)
}

// leaseMember encodes a lease in DemandLeasesKey. The id has a fixed length
// and no colon, so the first colon splits it from the model id.
func leaseMember(leaseID, modelID string) string {
	return leaseID + ":" + modelID
}

// leaseModel returns the model id of a leaseMember, or false if the member is
// malformed.
func leaseModel(member string) (string, bool) {
	if len(member) <= leaseIDLen+1 || member[leaseIDLen] != ':' {
		return "", false
	}
	return member[leaseIDLen+1:], true
}

// HealthKey is the hash of the prober's latest results for the server at url.
func HealthKey(url string) string {
	return "aiadmin:health:" + url
}

// Field names inside HealthKey.
const (
	healthFieldHealthy              = "healthy"
	healthFieldConsecutiveFailures  = "consecutive_failures"
	healthFieldConsecutiveSuccesses = "consecutive_successes"
	healthFieldLastCheckMs          = "last_check_ms"
	healthFieldLastFailureMs        = "last_failure_ms"
)

// Values of the healthy field in HealthKey.
const (
	healthTrue    = "true"
	healthFalse   = "false"
	healthUnknown = "unknown"
)

// DrainsKey is the hash of the drained servers: field the server URL, value
// drainValue. The whole set is one key, so it lives in one cluster slot and
// is read in one command.
func DrainsKey() string {
	return "aiadmin:drains"
}

// drainValue encodes a drain as the epoch ms it started and its reason. The
// time is digits only, so the first colon splits it from the reason.
func drainValue(sinceMs int64, reason string) string {
	return strconv.FormatInt(sinceMs, 10) + ":" + reason
}

// parseDrainValue decodes drainValue; ok is false for a malformed value.
func parseDrainValue(v string) (sinceMs int64, reason string, ok bool) {
	since, reason, found := strings.Cut(v, ":")
	if !found {
		return 0, "", false
	}
	ms, err := strconv.ParseInt(since, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return ms, reason, true
}

// leaseKeyPrefix starts every leadership lease key. It holds no hash tag:
// every lease operation touches its one key only.
const leaseKeyPrefix = "aiadmin:lease:"

// LeaseKey is the string holding the id of the current holder of the
// leadership lease called name (for example "prober"), with the lease's TTL.
func LeaseKey(name string) string {
	return leaseKeyPrefix + name
}

// ProberLeaseName names the leadership lease of the health prober: one
// replica at a time probes the pool.
const ProberLeaseName = "prober"

// RestartLeaseName names the lease a replica holds while it restarts the pod
// podID, so that two replicas never restart the same pod at once. Its key is
// LeaseKey(RestartLeaseName(podID)).
func RestartLeaseName(podID string) string {
	return "restart:" + podID
}

// AuditStreamKey is the stream holding the most recent admin actions of every
// replica, oldest first. It is one key, so it lives in one cluster slot and
// needs no hash tag.
func AuditStreamKey() string {
	return "aiadmin:audit"
}

// Field names of an entry of AuditStreamKey.
const (
	auditFieldAtMs    = "at_ms"
	auditFieldUserID  = "user_id"
	auditFieldAction  = "action"
	auditFieldTarget  = "target"
	auditFieldOutcome = "outcome"
)
