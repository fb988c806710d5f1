package certd.authz_test

import data.certd.authz

office := {"sub": "u1", "org": "11350100MB0000000B", "roles": ["digital_office"]}

issuer := {"sub": "u2", "org": "11350100MB0000001X", "roles": ["issuer"]}

test_catalogue_read_needs_a_subject if {
	authz.allow with input as {"action": "catalogue.read", "principal": issuer}
	not authz.allow with input as {"action": "catalogue.read", "principal": {"sub": ""}}
	not authz.allow with input as {"action": "catalogue.read"}
}

test_office_registers_units_and_matters if {
	authz.allow with input as {"action": "unit.register", "principal": office}
	authz.allow with input as {"action": "matter.register", "principal": office}
	authz.allow with input as {"action": "matter.update", "principal": office}
}

test_issuer_cannot_register_units if {
	not authz.allow with input as {"action": "unit.register", "principal": issuer}
	authz.reasons["role digital_office required"] with input as {"action": "unit.register", "principal": issuer}
}

test_issuer_registers_types_of_its_own_unit_only if {
	authz.allow with input as {"action": "type.register", "principal": issuer, "resource": {"issuer": issuer.org}}
	not authz.allow with input as {"action": "type.register", "principal": issuer, "resource": {"issuer": office.org}}
	authz.reasons["only for the caller's own unit"] with input as {"action": "type.register", "principal": issuer, "resource": {"issuer": office.org}}
}

test_office_cannot_register_types if {
	not authz.allow with input as {"action": "type.register", "principal": office, "resource": {"issuer": office.org}}
}

test_unknown_roles_grant_nothing if {
	p := {"sub": "u3", "org": "x", "roles": ["root", "admin"]}
	not authz.allow with input as {"action": "unit.register", "principal": p}
}

test_unknown_action_is_denied if {
	not authz.allow with input as {"action": "no.such.action", "principal": office}
}
