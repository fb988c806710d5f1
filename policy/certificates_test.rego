package certd.authz_test

import data.certd.authz

clerk := {"sub": "c1", "org": "11350100MB00000025", "roles": ["issuer"], "amr": ["pwd", "cert"]}

weak_clerk := {"sub": "c2", "org": "11350100MB00000025", "roles": ["issuer"], "amr": ["pwd"]}

citizen := {"sub": "h1", "roles": ["holder"], "holder": "321083197812162119", "amr": ["pwd"]}

staff := {"sub": "s1", "org": "11350100MB0000004B", "roles": ["staff"], "amr": ["pwd"]}

licence := {"issuer": "11350100MB00000025", "holder": "321083197812162119", "type": "11350100MB00000025001"}

test_issuer_issues_own_with_cert if {
	authz.allow with input as {"action": "certificate.issue", "principal": clerk, "resource": {"issuer": clerk.org}}
	authz.allow with input as {"action": "certificate.state", "principal": clerk, "resource": licence}
}

test_issuing_needs_strong_authentication if {
	not authz.allow with input as {"action": "certificate.issue", "principal": weak_clerk, "resource": {"issuer": clerk.org}}
	authz.reasons["strong authentication (amr cert or bio) required"] with input as {"action": "certificate.issue", "principal": weak_clerk, "resource": {"issuer": clerk.org}}
}

test_no_writes_on_another_units_licences if {
	other := object.union(licence, {"issuer": "11350100MB00000038"})
	not authz.allow with input as {"action": "certificate.change", "principal": clerk, "resource": other}
	not authz.allow with input as {"action": "certificate.read", "principal": clerk, "resource": other}
}

test_holder_reads_own_only if {
	authz.allow with input as {"action": "certificate.read", "principal": citizen, "resource": licence}
	not authz.allow with input as {"action": "certificate.read", "principal": citizen, "resource": object.union(licence, {"holder": "33010219200403064X"})}
	not authz.allow with input as {"action": "certificate.issue", "principal": citizen, "resource": licence}
}

test_staff_cannot_read_outside_a_case if {
	not authz.allow with input as {"action": "certificate.read", "principal": staff, "resource": licence}
	not authz.allow with input as {"action": "certificate.list", "principal": staff, "resource": {"issuer": staff.org}}
}

test_holder_without_holder_claim_reads_nothing if {
	nobody := {"sub": "h2", "roles": ["holder"], "holder": "", "amr": ["pwd"]}
	not authz.allow with input as {"action": "certificate.read", "principal": nobody, "resource": object.union(licence, {"holder": ""})}
}

test_verification_code_for_holder_and_issuer_only if {
	code := {"action": "certificate.verification_code", "resource": licence}
	authz.allow with input as object.union(code, {"principal": clerk})
	authz.allow with input as object.union(code, {"principal": weak_clerk})
	authz.allow with input as object.union(code, {"principal": citizen})
	not authz.allow with input as object.union(code, {"principal": staff})
	other_unit := object.union(clerk, {"org": "11350100MB00000038"})
	not authz.allow with input as object.union(code, {"principal": other_unit})
	other_holder := object.union(citizen, {"holder": "33010219200403064X"})
	not authz.allow with input as object.union(code, {"principal": other_holder})
	supervisor := {"sub": "v1", "org": "11350100MB00000012", "roles": ["supervisor", "digital_office", "policy_admin"], "amr": ["pwd", "cert"]}
	not authz.allow with input as object.union(code, {"principal": supervisor})
	not authz.allow with input as {"action": "certificate.verification_code", "resource": licence}
}

test_only_the_stock_import_declares_stock if {
	importer := object.union(clerk, {"roles": ["issuer", "importer"]})
	authz.allow with input as {"action": "certificate.import", "principal": importer, "resource": {"issuer": clerk.org}}
	not authz.allow with input as {"action": "certificate.import", "principal": clerk, "resource": {"issuer": clerk.org}}
	authz.reasons["mode STOCK is for the stock import of paper licences (第十一条): the token needs the importer role"] with input as {"action": "certificate.import", "principal": clerk, "resource": {"issuer": clerk.org}}
	not authz.allow with input as {"action": "certificate.import", "principal": importer, "resource": {"issuer": "11350100MB00000038"}}
	weak_importer := object.union(importer, {"amr": ["pwd"]})
	not authz.allow with input as {"action": "certificate.import", "principal": weak_importer, "resource": {"issuer": clerk.org}}
	importer_only := object.union(clerk, {"roles": ["importer"]})
	not authz.allow with input as {"action": "certificate.import", "principal": importer_only, "resource": {"issuer": clerk.org}}
}
