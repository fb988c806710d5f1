package certd.objections_test

import data.certd.authz

holder := {"sub": "h1", "roles": ["holder"], "holder": "321083197812162119"}

other_holder := {"sub": "h2", "roles": ["holder"], "holder": "33010219200403064X"}

staff := {"sub": "s1", "org": "12350100MB0000001X", "roles": ["staff"]}

issuer := {"sub": "i1", "org": "11350100MB0000002X", "roles": ["issuer"], "amr": ["pwd"]}

other_issuer := {"sub": "i2", "org": "11350100MB0000003X", "roles": ["issuer"]}

as_holder(code) := {"role": "holder", "holder": code, "issuer": "11350100MB0000002X"}

through(unit, open) := {"role": "staff", "case": {"id": "c1", "unit": unit, "open": open}}

file(p, res) := {"action": "objection.file", "principal": p, "resource": res}

test_holders_object_to_their_own_licences if {
	authz.allow with input as file(holder, as_holder(holder.holder))
	not authz.allow with input as file(other_holder, as_holder(holder.holder))
	authz.reasons["only the licence's holder may object to it as holder"] with input as file(other_holder, as_holder(holder.holder))
}

test_a_holder_without_a_holder_code_cannot_object if {
	not authz.allow with input as file({"sub": "h3", "roles": ["holder"], "holder": ""}, as_holder(""))
}

test_issuers_and_staff_do_not_object_as_holders if {
	not authz.allow with input as file(issuer, as_holder(holder.holder))
	authz.reasons["role holder required"] with input as file(issuer, as_holder(holder.holder))
	not authz.allow with input as file(staff, as_holder(holder.holder))
}

test_staff_object_through_an_open_case_of_their_unit if {
	authz.allow with input as file(staff, through(staff.org, true))
}

test_staff_do_not_object_through_a_closed_case if {
	not authz.allow with input as file(staff, through(staff.org, false))
	authz.reasons["the case is closed"] with input as file(staff, through(staff.org, false))
}

test_staff_do_not_object_through_another_units_case if {
	not authz.allow with input as file(staff, through("12350100MB0000009X", true))
	authz.reasons["the case belongs to another unit"] with input as file(staff, through("12350100MB0000009X", true))
}

test_only_staff_object_through_cases if {
	not authz.allow with input as file(holder, through(staff.org, true))
	not authz.allow with input as file({"sub": "i1", "org": staff.org, "roles": ["issuer"]}, through(staff.org, true))
	authz.reasons["role staff required"] with input as file(holder, through(staff.org, true))
}

test_issuers_list_their_own_units_objections if {
	authz.allow with input as {"action": "objection.list", "principal": issuer, "resource": {"issuer": issuer.org}}
	not authz.allow with input as {"action": "objection.list", "principal": issuer, "resource": {"issuer": other_issuer.org}}
	not authz.allow with input as {"action": "objection.list", "principal": staff, "resource": {"issuer": staff.org}}
	authz.reasons["role issuer required"] with input as {"action": "objection.list", "principal": staff, "resource": {"issuer": staff.org}}
	not authz.allow with input as {"action": "objection.list", "principal": {"sub": "i3", "org": "", "roles": ["issuer"]}, "resource": {"issuer": ""}}
}

test_holders_list_their_own_objections if {
	authz.allow with input as {"action": "objection.mine", "principal": holder, "resource": {"holder": holder.holder}}
	not authz.allow with input as {"action": "objection.mine", "principal": holder, "resource": {"holder": other_holder.holder}}
	not authz.allow with input as {"action": "objection.mine", "principal": issuer, "resource": {"holder": ""}}
	authz.reasons["role holder required"] with input as {"action": "objection.mine", "principal": issuer, "resource": {"holder": ""}}
}

test_only_the_issuing_unit_resolves if {
	authz.allow with input as {"action": "objection.resolve", "principal": issuer, "resource": {"issuer": issuer.org, "state": "OPEN"}}
	not authz.allow with input as {"action": "objection.resolve", "principal": other_issuer, "resource": {"issuer": issuer.org, "state": "OPEN"}}
	authz.reasons["only the issuing unit lists or resolves objections to its licences"] with input as {"action": "objection.resolve", "principal": other_issuer, "resource": {"issuer": issuer.org, "state": "OPEN"}}
	not authz.allow with input as {"action": "objection.resolve", "principal": holder, "resource": {"issuer": issuer.org, "state": "OPEN"}}
	not authz.allow with input as {"action": "objection.resolve", "principal": {"sub": "s2", "org": issuer.org, "roles": ["staff"]}, "resource": {"issuer": issuer.org, "state": "OPEN"}}
}
