package certd.authz_test

import data.certd.authz

centre := {"sub": "s1", "org": "11350100MB0000004B", "roles": ["staff"]}

walk_in := {"reason": "申请人现场办理"}

test_staff_open_cases_for_matters_their_unit_handles if {
	authz.allow with input as {"action": "case.open", "principal": centre, "resource": {"matter": {"handling_units": ["11350100MB0000004B"]}, "walk_in": walk_in}}
	not authz.allow with input as {"action": "case.open", "principal": centre, "resource": {"matter": {"handling_units": ["11350100MB00000025"]}, "walk_in": walk_in}}
	authz.reasons["the caller's unit does not handle this matter"] with input as {"action": "case.open", "principal": centre, "resource": {"matter": {"handling_units": []}, "walk_in": walk_in}}
}

test_cases_are_opened_from_applications_to_the_unit if {
	matter := {"handling_units": ["11350100MB0000004B", "11350100MB00000025"]}
	authz.allow with input as {"action": "case.open", "principal": centre, "resource": {"matter": matter, "application": {"unit": "11350100MB0000004B", "state": "PENDING"}}}
	to_other := {"action": "case.open", "principal": centre, "resource": {"matter": matter, "application": {"unit": "11350100MB00000025", "state": "PENDING"}}}
	not authz.allow with input as to_other
	authz.reasons["the application is addressed to another unit"] with input as to_other
	# A walk-in reason does not make up for another unit's application.
	not authz.allow with input as json.patch(to_other, [{"op": "add", "path": "/resource/walk_in", "value": walk_in}])
}

test_without_an_application_a_walk_in_needs_a_reason if {
	matter := {"handling_units": ["11350100MB0000004B"]}
	bare := {"action": "case.open", "principal": centre, "resource": {"matter": matter}}
	not authz.allow with input as bare
	authz.reasons["a case without an application is a walk-in and needs its reason"] with input as bare
	not authz.allow with input as json.patch(bare, [{"op": "add", "path": "/resource/walk_in", "value": {"reason": "  "}}])
}

test_other_roles_open_no_cases if {
	clerk := {"sub": "c", "org": "11350100MB0000004B", "roles": ["issuer"]}
	not authz.allow with input as {"action": "case.open", "principal": clerk, "resource": {"matter": {"handling_units": ["11350100MB0000004B"]}, "walk_in": walk_in}}
}

test_cases_of_another_unit_are_closed_to_staff if {
	authz.allow with input as {"action": "case.read", "principal": centre, "resource": {"case": {"unit": "11350100MB0000004B"}}}
	not authz.allow with input as {"action": "case.read", "principal": centre, "resource": {"case": {"unit": "11350100MB00000038"}}}
	not authz.allow with input as {"action": "case.close", "principal": centre, "resource": {"case": {"unit": "11350100MB00000038"}}}
}

test_sensitive_fields_hidden_unless_the_matter_needs_them if {
	t := {"code": "T1", "sensitive": ["idNumber", "birthDate"]}
	hidden := authz.hidden_fields with input as {"action": "case.certificates", "principal": centre, "type": t, "case": {"disclosed": ["T1.birthDate"]}}
	hidden == {"idNumber"} | authz.record_notes
	none := authz.hidden_fields with input as {"action": "me.certificates", "principal": centre, "type": t}
	count(none) == 0
}

test_only_policy_admins_administer_policy if {
	admin := {"sub": "p", "roles": ["policy_admin"]}
	authz.allow with input as {"action": "policy.publish", "principal": admin}
	not authz.allow with input as {"action": "policy.publish", "principal": centre}
	authz.reasons["role policy_admin required"] with input as {"action": "policy.rollback", "principal": centre}
}

test_a_second_policy_admin_approves if {
	a := {"sub": "pa1", "roles": ["policy_admin"]}
	b := {"sub": "pa2", "roles": ["policy_admin"]}
	proposal := {"version": 2, "author": "pa1", "restored_author": ""}
	authz.allow with input as {"action": "policy.approve", "principal": b, "resource": proposal}
	not authz.allow with input as {"action": "policy.approve", "principal": a, "resource": proposal}
	authz.reasons["a policy admin cannot approve their own proposal"] with input as {"action": "policy.approve", "principal": a, "resource": proposal}
	not authz.allow with input as {"action": "policy.approve", "principal": centre, "resource": proposal}

	# A rollback restoring pa2's version: neither pa1 (its proposer) nor pa2.
	rollback := {"version": 4, "author": "pa1", "restored_author": "pa2", "rollback_of": 2}
	not authz.allow with input as {"action": "policy.approve", "principal": b, "resource": rollback}
	authz.allow with input as {"action": "policy.approve", "principal": {"sub": "pa3", "roles": ["policy_admin"]}, "resource": rollback}

	# Without the author in the input, nobody approves.
	not authz.allow with input as {"action": "policy.approve", "principal": b, "resource": {"version": 2}}
}

test_policy_admins_reject_proposals if {
	authz.allow with input as {"action": "policy.reject", "principal": {"sub": "pa1", "roles": ["policy_admin"]}, "resource": {"author": "pa1"}}
	not authz.allow with input as {"action": "policy.reject", "principal": centre, "resource": {"author": "pa1"}}
}

test_a_cap_on_licences_per_request if {
	authz.max_certificates > 0
}

test_audit_scopes if {
	authz.audit_scope == {"all": true} with input as {"action": "audit.read", "principal": {"sub": "v", "roles": ["supervisor"]}}
	authz.audit_scope == {"all": true} with input as {"action": "audit.read", "principal": {"sub": "o", "roles": ["digital_office"]}}
	authz.audit_scope == {"issuer": "I1"} with input as {"action": "audit.read", "principal": {"sub": "c", "org": "I1", "roles": ["issuer"]}}
	authz.audit_scope == {"holder": "H1"} with input as {"action": "me.accessLog", "principal": {"sub": "h", "roles": ["holder"], "holder": "H1"}}
}

test_staff_read_no_audit if {
	not authz.audit_scope with input as {"action": "audit.read", "principal": centre}
	not authz.audit_scope with input as {"action": "me.accessLog", "principal": {"sub": "h", "roles": ["holder"], "holder": ""}}
}

test_supervision_reports if {
	authz.allow with input as {"action": "supervision.report", "principal": {"sub": "v", "roles": ["supervisor"]}}
	authz.allow with input as {"action": "supervision.report", "principal": {"sub": "o", "roles": ["digital_office"]}}
	not authz.allow with input as {"action": "supervision.report", "principal": centre}
}

test_record_notes_hidden_from_staff if {
	t := {"code": "T1", "sensitive": []}
	hidden := authz.hidden_fields with input as {"action": "case.certificates", "principal": centre, "type": t, "case": {"disclosed": []}}
	hidden == {"history.reason", "history.by", "inspections.note", "inspections.by"}
}
