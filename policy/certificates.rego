# Licences: issuance and lifecycle (第七条 to 第十一条), and who may read
# them outside a case.
package certd.authz

# Strong authentication (第十八条): a digital certificate or biometrics.
strong_auth if {
	some m in input.principal.amr
	m in {"cert", "bio"}
}

own_unit if input.resource.issuer == input.principal.org

licence_writes := {
	"certificate.issue", "certificate.change", "certificate.renew",
	"certificate.state", "certificate.inspect",
}

# An issuing unit issues and maintains its own licences, with strong
# authentication.
allow if {
	input.action in licence_writes
	"issuer" in roles
	own_unit
	strong_auth
}

# Stock licences (第十一条) were issued on paper before the platform and
# are digitised in bulk; mode STOCK has no 第七条 deadline. So only the
# stock import declares it: tokens with the importer role beside issuer,
# which the identity provider gives the accounts `certd import` runs as. An
# ordinary issuer's token cannot turn a late issuance into one without a
# deadline.
allow if {
	input.action == "certificate.import"
	"issuer" in roles
	"importer" in roles
	own_unit
	strong_auth
}

# Issuers read and list their own unit's licences, every version and state.
allow if {
	input.action in {"certificate.read", "certificate.list"}
	"issuer" in roles
	own_unit
}

# Holders read their own licences.
allow if {
	input.action == "certificate.read"
	"holder" in roles
	input.principal.holder != ""
	input.resource.holder == input.principal.holder
}

# The verification code printed on a licence, which public verification
# needs, goes to its holder and its issuing unit only: not to staff, who
# read licences only inside a case, nor to any other role.
allow if {
	input.action == "certificate.verification_code"
	"issuer" in roles
	own_unit
}

allow if {
	input.action == "certificate.verification_code"
	"holder" in roles
	input.principal.holder != ""
	input.resource.holder == input.principal.holder
}

reasons contains "strong authentication (amr cert or bio) required" if {
	input.action in licence_writes | {"certificate.import"}
	not strong_auth
}

reasons contains "mode STOCK is for the stock import of paper licences (第十一条): the token needs the importer role" if {
	input.action == "certificate.import"
	not "importer" in roles
}

reasons contains "only for the caller's own unit" if {
	input.action in licence_writes | {"certificate.list", "certificate.import"}
	not own_unit
}

reasons contains "only the licence's issuer or holder may read it outside a case" if {
	input.action == "certificate.read"
	not own_unit
	input.resource.holder != input.principal.holder
}

required_role["certificate.issue"] := {"issuer"}

required_role["certificate.change"] := {"issuer"}

required_role["certificate.renew"] := {"issuer"}

required_role["certificate.state"] := {"issuer"}

required_role["certificate.inspect"] := {"issuer"}

required_role["certificate.list"] := {"issuer"}

required_role["certificate.import"] := {"issuer", "importer"}
