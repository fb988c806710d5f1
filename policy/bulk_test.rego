package certd.bulk_test

import data.certd.authz

analyst := {"sub": "a1", "org": "12350100MB0000001X", "roles": ["analyst"]}

other_analyst := {"sub": "a2", "org": "12350100MB0000001X", "roles": ["analyst"]}

office := {"sub": "o1", "org": "11350100MB0000004B", "roles": ["digital_office"]}

# A digital office member who is also an analyst and filed the request.
office_analyst := {"sub": "a1", "org": "11350100MB0000004B", "roles": ["digital_office", "analyst"]}

bulk_req(state) := {"id": "r1", "state": state, "requested_by": "a1", "requester_org": "12350100MB0000001X", "runs_left": 2, "max_runs": 3, "valid_days": 30, "expired": false}

every_role := [
	{"sub": "x", "roles": ["issuer"]},
	{"sub": "x", "roles": ["staff"]},
	{"sub": "x", "roles": ["holder"]},
	{"sub": "x", "roles": ["policy_admin"]},
	{"sub": "x", "roles": ["supervisor"]},
	{"sub": "x", "roles": ["digital_office"]},
	{"sub": "a1", "roles": ["issuer", "staff", "holder", "policy_admin", "supervisor", "digital_office"]},
]

test_bulk_k_is_a_positive_number if {
	authz.bulk_k >= 1
}

test_only_analysts_submit if {
	authz.allow with input as {"action": "bulk.submit", "principal": analyst, "resource": bulk_req("PENDING")}
	not authz.allow with input as {"action": "bulk.submit", "principal": office, "resource": bulk_req("PENDING")}
	authz.reasons["role analyst required"] with input as {"action": "bulk.submit", "principal": office, "resource": bulk_req("PENDING")}
}

test_the_digital_office_decides if {
	every action in ["bulk.approve", "bulk.reject"] {
		authz.allow with input as {"action": action, "principal": office, "resource": bulk_req("PENDING")}
		not authz.allow with input as {"action": action, "principal": analyst, "resource": bulk_req("PENDING")}
		not authz.allow with input as {"action": action, "principal": other_analyst, "resource": bulk_req("PENDING")}
	}
}

test_the_requester_never_decides_their_own_request if {
	every action in ["bulk.approve", "bulk.reject"] {
		not authz.allow with input as {"action": action, "principal": office_analyst, "resource": bulk_req("PENDING")}
		authz.reasons["the requester cannot decide their own request"] with input as {"action": action, "principal": office_analyst, "resource": bulk_req("PENDING")}
	}
}

test_the_requester_runs_an_approved_request if {
	authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req("APPROVED")}
	not authz.allow with input as {"action": "bulk.run", "principal": other_analyst, "resource": bulk_req("APPROVED")}
	authz.reasons["only the requester may run a bulk analysis"] with input as {"action": "bulk.run", "principal": other_analyst, "resource": bulk_req("APPROVED")}
}

test_no_run_before_approval if {
	every state in ["PENDING", "REJECTED"] {
		not authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req(state)}
		authz.reasons["the bulk analysis is not approved"] with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req(state)}
	}
}

test_expired_requests_are_refused if {
	expired := object.union(bulk_req("APPROVED"), {"expired": true})
	not authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": expired}
	authz.reasons["the bulk analysis has expired"] with input as {"action": "bulk.run", "principal": analyst, "resource": expired}
	not authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req("EXPIRED")}
	authz.reasons["the bulk analysis has expired"] with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req("EXPIRED")}
}

test_exhausted_requests_are_refused if {
	used := object.union(bulk_req("APPROVED"), {"runs_left": 0})
	not authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": used}
	authz.reasons["the bulk analysis has no runs left"] with input as {"action": "bulk.run", "principal": analyst, "resource": used}
	not authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req("EXHAUSTED")}
	authz.reasons["the bulk analysis has no runs left"] with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req("EXHAUSTED")}
}

test_no_role_aggregates_without_an_approved_request if {
	every p in every_role {
		every state in ["PENDING", "APPROVED", "REJECTED", "EXPIRED", "EXHAUSTED"] {
			not authz.allow with input as {"action": "bulk.run", "principal": p, "resource": bulk_req(state)}
		}
	}
	every state in ["PENDING", "REJECTED", "EXPIRED", "EXHAUSTED"] {
		not authz.allow with input as {"action": "bulk.run", "principal": analyst, "resource": bulk_req(state)}
	}
	not authz.allow with input as {"action": "bulk.run", "principal": analyst}
}

test_listing_and_reading if {
	authz.allow with input as {"action": "bulk.list", "principal": office, "resource": {"scope": "all"}}
	not authz.allow with input as {"action": "bulk.list", "principal": analyst, "resource": {"scope": "all"}}
	authz.allow with input as {"action": "bulk.list", "principal": analyst, "resource": {"scope": "own", "requested_by": "a1"}}
	not authz.allow with input as {"action": "bulk.list", "principal": analyst, "resource": {"scope": "own", "requested_by": "a2"}}
	authz.allow with input as {"action": "bulk.read", "principal": office, "resource": bulk_req("PENDING")}
	authz.allow with input as {"action": "bulk.read", "principal": analyst, "resource": bulk_req("PENDING")}
	not authz.allow with input as {"action": "bulk.read", "principal": other_analyst, "resource": bulk_req("PENDING")}
	authz.reasons["analysts see only their own bulk analyses"] with input as {"action": "bulk.read", "principal": other_analyst, "resource": bulk_req("PENDING")}
	not authz.allow with input as {"action": "bulk.list", "principal": {"sub": "s", "roles": ["staff"]}, "resource": {"scope": "own", "requested_by": "s"}}
	authz.reasons["role analyst or digital_office required"] with input as {"action": "bulk.list", "principal": {"sub": "s", "roles": ["staff"]}, "resource": {"scope": "all"}}
}
