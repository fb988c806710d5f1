package certd.filters_test

import data.certd.filters

staff := {"sub": "s1", "org": "11350100MB0000004B", "roles": ["staff"]}

open_case := {"open": true, "unit": "11350100MB0000004B", "holder": "91350100MA0000001P", "required_types": ["T1", "T2"]}

licence := {"holder": "91350100MA0000001P", "type": "T1", "state": "VALID", "current": true, "issuer": "I1"}

case_input(c, l) := {"action": "case.certificates", "principal": staff, "case": c, "certificate": l}

test_staff_sees_the_case_holders_required_citable_licences if {
	filters.include with input as case_input(open_case, licence)
}

test_staff_sees_nothing_of_another_holder if {
	not filters.include with input as case_input(open_case, object.union(licence, {"holder": "350102198001010011"}))
}

test_staff_sees_no_type_the_matter_does_not_need if {
	not filters.include with input as case_input(open_case, object.union(licence, {"type": "T9"}))
}

test_staff_sees_no_uncitable_licence if {
	not filters.include with input as case_input(open_case, object.union(licence, {"state": "SUSPENDED"}))
	not filters.include with input as case_input(open_case, object.union(licence, {"current": false}))
}

test_closed_or_foreign_case_gives_nothing if {
	not filters.include with input as case_input(object.union(open_case, {"open": false}), licence)
	not filters.include with input as case_input(object.union(open_case, {"unit": "11350100MB00000038"}), licence)
}

test_holders_see_their_own if {
	me := {"sub": "h", "roles": ["holder"], "holder": "91350100MA0000001P"}
	filters.include with input as {"action": "me.certificates", "principal": me, "certificate": licence}
	not filters.include with input as {"action": "me.certificates", "principal": me, "certificate": object.union(licence, {"holder": "x"})}
	not filters.include with input as {"action": "me.certificates", "principal": object.union(me, {"holder": ""}), "certificate": object.union(licence, {"holder": ""})}
}

test_issuers_list_their_own if {
	clerk := {"sub": "c", "org": "I1", "roles": ["issuer"]}
	filters.include with input as {"action": "certificate.list", "principal": clerk, "certificate": licence}
	not filters.include with input as {"action": "certificate.list", "principal": clerk, "certificate": object.union(licence, {"issuer": "I2"})}
}
