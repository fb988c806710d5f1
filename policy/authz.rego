# Authorization decisions for certd. Default deny: anything not allowed
# below is refused, and an undefined result or an evaluation error is a
# denial too.
#
# input:
#   action     what is asked, e.g. "catalogue.read", "type.register"
#   principal  {sub, org, roles, holder, amr} from the verified JWT
#   resource   what the action is about (depends on the action)
package certd.authz

default allow := false

# Roles a token may carry (DESIGN §2).
known_roles := {"issuer", "staff", "holder", "analyst", "digital_office", "policy_admin", "supervisor", "service_hall", "importer"}

roles := {r | some r in input.principal.roles; r in known_roles}

authenticated if input.principal.sub != ""

# The catalogue (units, types, matters) is readable by every authenticated
# user of the platform.
allow if {
	input.action == "catalogue.read"
	authenticated
}

# The digital office keeps the catalogue of units and matters (第五条).
allow if {
	input.action in {"unit.register", "unit.update", "matter.register", "matter.update"}
	"digital_office" in roles
}

# An issuing unit registers and updates the types it issues, and only for
# its own unit (第六条, 第十条).
allow if {
	input.action in {"type.register", "type.update"}
	"issuer" in roles
	input.resource.issuer == input.principal.org
}

# The reasons for a denial, for clear errors and explanations.
reasons contains "not authenticated" if not authenticated

reasons contains sprintf("role %s required", [r]) if {
	some r in required_role[input.action]
	not r in roles
}

reasons contains "only for the caller's own unit" if {
	input.action in {"type.register", "type.update"}
	input.resource.issuer != input.principal.org
}

required_role["unit.register"] := {"digital_office"}

required_role["unit.update"] := {"digital_office"}

required_role["matter.register"] := {"digital_office"}

required_role["matter.update"] := {"digital_office"}

required_role["type.register"] := {"issuer"}

required_role["type.update"] := {"issuer"}
