# Data filters for list reads (第十二条). certd compiles `include` with
# input.certificate unknown (OPA's compile API, UCAST target) and hands the
# result to the store, so the store returns only licences the policy
# permits. input.certificate has: id, lineage, type, issuer, holder, state,
# current, version.
package certd.filters

import data.certd.authz

# Staff of a using unit see, inside an open case of their own unit, the
# citable licences of that case's holder whose type the matter requires;
# nothing else.
include if {
	input.action == "case.certificates"
	"staff" in authz.roles
	input.case.open
	input.case.unit == input.principal.org
	input.certificate.holder == input.case.holder
	input.certificate.type in input.case.required_types
	input.certificate.state == "VALID"
	input.certificate.current == true
}

# Holders see their own licences, every version and state.
include if {
	input.action == "me.certificates"
	"holder" in authz.roles
	input.principal.holder != ""
	input.certificate.holder == input.principal.holder
}

# Issuers list their own unit's licences, every version and state.
include if {
	input.action == "certificate.list"
	"issuer" in authz.roles
	input.certificate.issuer == input.principal.org
}
