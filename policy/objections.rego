# Objections to licence data (第十七条): holders and using units' staff
# object, the issuing unit verifies and corrects or rejects.
#
# objection.file resource: {role: "holder", holder, issuer} for a holder
# on a licence they read outside a case; {role: "staff", case: {id, unit,
# open}} for staff filing through a case (the service also checks the case
# shows the licence). objection.list: {issuer} (the caller's unit);
# objection.mine: {holder} (the caller's holder code); objection.resolve:
# {issuer, state} of the objection.
package certd.authz

# A holder objects to their own licence.
allow if {
	input.action == "objection.file"
	"holder" in roles
	input.resource.role == "holder"
	input.principal.holder != ""
	input.resource.holder == input.principal.holder
}

# Staff object through an open case of their own unit.
allow if {
	input.action == "objection.file"
	"staff" in roles
	input.resource.role == "staff"
	input.resource.case.open == true
	input.principal.org != ""
	input.resource.case.unit == input.principal.org
}

# An issuing unit lists the objections to its own licences.
allow if {
	input.action == "objection.list"
	"issuer" in roles
	input.principal.org != ""
	input.resource.issuer == input.principal.org
}

# Holders list their own objections.
allow if {
	input.action == "objection.mine"
	"holder" in roles
	input.principal.holder != ""
	input.resource.holder == input.principal.holder
}

# Only the issuing unit resolves an objection to its licence. A correction
# is a certificate.change too, which needs strong authentication.
allow if {
	input.action == "objection.resolve"
	"issuer" in roles
	input.principal.org != ""
	input.resource.issuer == input.principal.org
}

reasons contains "role holder required" if {
	input.action == "objection.file"
	input.resource.role == "holder"
	not "holder" in roles
}

reasons contains "only the licence's holder may object to it as holder" if {
	input.action == "objection.file"
	input.resource.role == "holder"
	input.resource.holder != input.principal.holder
}

reasons contains "role staff required" if {
	input.action == "objection.file"
	input.resource.role == "staff"
	not "staff" in roles
}

reasons contains "the case is closed" if {
	input.action == "objection.file"
	input.resource.role == "staff"
	input.resource.case.open != true
}

reasons contains "the case belongs to another unit" if {
	input.action == "objection.file"
	input.resource.role == "staff"
	input.resource.case.unit != input.principal.org
}

reasons contains "only the issuing unit lists or resolves objections to its licences" if {
	input.action in {"objection.list", "objection.resolve"}
	input.resource.issuer != input.principal.org
}

reasons contains "only the caller's own objections" if {
	input.action == "objection.mine"
	input.resource.holder != input.principal.holder
}

required_role["objection.list"] := {"issuer"}

required_role["objection.mine"] := {"holder"}

required_role["objection.resolve"] := {"issuer"}
