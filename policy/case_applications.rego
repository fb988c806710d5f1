# Applications (第十二条): a holder applies to a unit for a matter, online
# or through the online service hall's system client (role service_hall),
# and the unit's staff open a case from that application.
#
# application.submit resource: {holder, unit, matter}
# application.withdraw resource: {application: {holder, unit}}
# application.mine resource: {holder} (the caller's holder code)
# case.review: no resource
package certd.authz

# Holders apply for themselves.
allow if {
	input.action in {"application.submit", "application.withdraw"}
	"holder" in roles
	input.principal.holder != ""
	application_holder == input.principal.holder
}

# The online service hall applies, and withdraws, for the holders it
# authenticated.
allow if {
	input.action in {"application.submit", "application.withdraw"}
	"service_hall" in roles
	application_holder != ""
}

# Holders list their own applications.
allow if {
	input.action == "application.mine"
	"holder" in roles
	input.principal.holder != ""
	input.resource.holder == input.principal.holder
}

application_holder := input.resource.holder if input.action == "application.submit"

application_holder := input.resource.application.holder if input.action == "application.withdraw"

reasons contains "applications are submitted by the holder or the online service hall" if {
	input.action in {"application.submit", "application.withdraw"}
	not "holder" in roles
	not "service_hall" in roles
}

reasons contains "a holder applies only for themselves" if {
	input.action in {"application.submit", "application.withdraw"}
	"holder" in roles
	not "service_hall" in roles
	application_holder != input.principal.holder
}

reasons contains "the online service hall names the holder it applies for (holderCode)" if {
	input.action == "application.submit"
	"service_hall" in roles
	input.resource.holder == ""
}

required_role["application.mine"] := {"holder"}

# Supervisors review walk-in cases and the alerts of walk-ins refused past
# the daily quota (casesForReview).
allow if {
	input.action == "case.review"
	"supervisor" in roles
}

required_role["case.review"] := {"supervisor"}
