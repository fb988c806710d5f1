# Bulk analysis of licences (第十三条): a using unit's analyst applies to
# the digital office and may analyse only after approval, only their own
# approved request, only while it is valid and has runs left. Anything
# else — any aggregate beyond the per-request cap without an approved
# request — is refused for every role.
#
# input.resource for bulk.approve, bulk.reject, bulk.run and bulk.read:
#   {id, state, requested_by, requester_org, runs_left, max_runs,
#    valid_days, expired}
# (expired: the request's validUntil has passed, computed at read time).
# bulk.submit gets the new request in the same shape (state PENDING).
# bulk.list gets {scope: "all"} or {scope: "own", requested_by}.
package certd.authz

# Results report only groups of at least bulk_k licences; smaller groups
# are suppressed and only counted (data.certd.authz.bulk_k, read by
# authz.Engine.BulkK; 5 when undefined).
bulk_k := 5

# Analysts apply for bulk analyses.
allow if {
	input.action == "bulk.submit"
	"analyst" in roles
}

# The digital office decides applications, never one of its own.
allow if {
	input.action in {"bulk.approve", "bulk.reject"}
	"digital_office" in roles
	input.resource.requested_by != input.principal.sub
}

# Only the requester runs their request, and only while it is approved,
# valid and has runs left.
allow if {
	input.action == "bulk.run"
	"analyst" in roles
	input.resource.requested_by == input.principal.sub
	bulk_runnable
}

bulk_runnable if {
	input.resource.state == "APPROVED"
	input.resource.runs_left > 0
	input.resource.expired == false
}

# The digital office lists and reads every request; analysts their own.
allow if {
	input.action in {"bulk.list", "bulk.read"}
	"digital_office" in roles
}

allow if {
	input.action == "bulk.list"
	"analyst" in roles
	input.resource.scope == "own"
	input.resource.requested_by == input.principal.sub
}

allow if {
	input.action == "bulk.read"
	"analyst" in roles
	input.resource.requested_by == input.principal.sub
}

required_role["bulk.submit"] := {"analyst"}

required_role["bulk.approve"] := {"digital_office"}

required_role["bulk.reject"] := {"digital_office"}

required_role["bulk.run"] := {"analyst"}

reasons contains "the requester cannot decide their own request" if {
	input.action in {"bulk.approve", "bulk.reject"}
	input.resource.requested_by == input.principal.sub
}

reasons contains "only the requester may run a bulk analysis" if {
	input.action == "bulk.run"
	input.resource.requested_by != input.principal.sub
}

reasons contains "the bulk analysis is not approved" if {
	input.action == "bulk.run"
	not input.resource.state in {"APPROVED", "EXPIRED", "EXHAUSTED"}
}

reasons contains "the bulk analysis has expired" if {
	input.action == "bulk.run"
	input.resource.state in {"APPROVED", "EXPIRED"}
	bulk_expired
}

bulk_expired if input.resource.state == "EXPIRED"

bulk_expired if input.resource.expired == true

reasons contains "the bulk analysis has no runs left" if {
	input.action == "bulk.run"
	input.resource.state in {"APPROVED", "EXHAUSTED"}
	bulk_used_up
}

bulk_used_up if input.resource.state == "EXHAUSTED"

bulk_used_up if input.resource.runs_left <= 0

reasons contains "role analyst or digital_office required" if {
	input.action in {"bulk.list", "bulk.read"}
	not "analyst" in roles
	not "digital_office" in roles
}

reasons contains "analysts see only their own bulk analyses" if {
	input.action in {"bulk.list", "bulk.read"}
	"analyst" in roles
	not "digital_office" in roles
	input.resource.requested_by != input.principal.sub
}
