# Cases (办件) and what staff see in them (第十二条), field visibility and
# the per-request cap.
package certd.authz

# Staff open cases only for matters their unit handles, and only because a
# holder applied: from an application addressed to their unit, or as a
# walk-in with a reason (within a daily quota, data.certd.cases, that
# certd enforces and supervisors review).
#
# case.open resource: {matter: {code, handling_units, required_types},
# holder, application: {unit, state}} or {..., walk_in: {reason}}.
allow if {
	input.action == "case.open"
	"staff" in roles
	input.principal.org in input.resource.matter.handling_units
	case_basis
}

case_basis if input.resource.application.unit == input.principal.org

case_basis if {
	not input.resource.application
	trim_space(input.resource.walk_in.reason) != ""
}

# Staff read, list and close only their own unit's cases.
allow if {
	input.action in {"case.read", "case.close", "case.paper"}
	"staff" in roles
	input.resource.case.unit == input.principal.org
}

allow if {
	input.action == "case.list"
	"staff" in roles
}

reasons contains "the caller's unit does not handle this matter" if {
	input.action == "case.open"
	not input.principal.org in input.resource.matter.handling_units
}

reasons contains "the application is addressed to another unit" if {
	input.action == "case.open"
	input.resource.application.unit != input.principal.org
}

reasons contains "a case without an application is a walk-in and needs its reason" if {
	input.action == "case.open"
	not input.resource.application
	not input.resource.walk_in.reason
}

reasons contains "the case belongs to another unit" if {
	input.action in {"case.read", "case.close", "case.paper"}
	input.resource.case.unit != input.principal.org
}

required_role["case.open"] := {"staff"}

required_role["case.read"] := {"staff"}

required_role["case.close"] := {"staff"}

required_role["case.list"] := {"staff"}

# Template fields marked sensitive are hidden from staff unless the matter
# declares it needs them ("<type code>.<field>" in input.case.disclosed).
# input.type: {code, sensitive: [field names]}.
hidden_fields contains f if {
	input.action == "case.certificates"
	some f in input.type.sensitive
	not concat(".", [input.type.code, f]) in {d | some d in input.case.disclosed}
}

# The issuer's own notes on a licence are its file, not the licence: who
# moved its state and why, who inspected it and what they noted. Staff
# reading through a case see the history's actions and times and the
# inspections' dates and results, not these (第十二条, minimal disclosure);
# holders and issuers read them outside a case.
record_notes := {"history.reason", "history.by", "inspections.note", "inspections.by"}

hidden_fields contains f if {
	input.action == "case.certificates"
	some f in record_notes
}

# The most licences one request may return, however it asks (lists,
# aliases, batches); more needs an approved bulk analysis (第十三条).
max_certificates := 100

# Policy administration: policy admins propose versions (publish, or
# rollback to an earlier one), read and explain; a proposal's author may
# withdraw it (reject), and so may another policy admin.
allow if {
	input.action in {"policy.publish", "policy.rollback", "policy.reject", "policy.read", "policy.explain"}
	"policy_admin" in roles
}

# Two people to change the policy: a proposal is approved by a policy
# admin other than its author and, for a rollback, other than the author
# of the version it restores. certd enforces this in its code as well, so
# no policy can switch it off.
allow if {
	input.action == "policy.approve"
	"policy_admin" in roles
	authenticated
	input.principal.sub != input.resource.author
	input.principal.sub != input.resource.restored_author
}

reasons contains "a policy admin cannot approve their own proposal" if {
	input.action == "policy.approve"
	input.principal.sub in {input.resource.author, input.resource.restored_author}
}

required_role["policy.publish"] := {"policy_admin"}

required_role["policy.rollback"] := {"policy_admin"}

required_role["policy.approve"] := {"policy_admin"}

required_role["policy.reject"] := {"policy_admin"}

required_role["policy.read"] := {"policy_admin"}

required_role["policy.explain"] := {"policy_admin"}

# Who reads the access log (第十八条): supervisors and the digital office
# everything; issuers the access to their own unit's licences; holders the
# access to their own licences (me.accessLog); staff and analysts nothing.
audit_scope := {"all": true} if {
	input.action == "audit.read"
	some r in {"supervisor", "digital_office"}
	r in roles
} else := {"issuer": input.principal.org} if {
	input.action == "audit.read"
	"issuer" in roles
	input.principal.org != ""
} else := {"holder": input.principal.holder} if {
	input.action == "me.accessLog"
	"holder" in roles
	input.principal.holder != ""
}

# Supervision reports (第十九条): the digital office and supervisors.
allow if {
	input.action == "supervision.report"
	some r in {"digital_office", "supervisor"}
	r in roles
}

reasons contains "supervision reports are for the digital office and supervisors" if {
	input.action == "supervision.report"
	not "digital_office" in roles
	not "supervisor" in roles
}
