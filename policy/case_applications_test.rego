package certd.authz_test

import data.certd.authz

resident := {"sub": "h1", "roles": ["holder"], "holder": "350102198001010011"}

hall := {"sub": "hall-client", "roles": ["service_hall"]}

submit(p, holder) := {"action": "application.submit", "principal": p, "resource": {"holder": holder, "unit": "U1", "matter": "M1"}}

test_holders_apply_for_themselves_only if {
	authz.allow with input as submit(resident, "350102198001010011")
	not authz.allow with input as submit(resident, "350102198503150022")
	authz.reasons["a holder applies only for themselves"] with input as submit(resident, "350102198503150022")
}

test_the_service_hall_applies_for_holders if {
	authz.allow with input as submit(hall, "350102198503150022")
	not authz.allow with input as submit(hall, "")
	authz.reasons["the online service hall names the holder it applies for (holderCode)"] with input as submit(hall, "")
}

test_staff_and_others_do_not_apply if {
	staff := {"sub": "s1", "org": "11350100MB0000004B", "roles": ["staff"]}
	not authz.allow with input as submit(staff, "350102198001010011")
	authz.reasons["applications are submitted by the holder or the online service hall"] with input as submit(staff, "350102198001010011")
	not authz.allow with input as submit({"sub": "x", "roles": ["supervisor"], "holder": "350102198001010011"}, "350102198001010011")
}

test_withdrawing_is_for_the_applicant if {
	own := {"action": "application.withdraw", "principal": resident, "resource": {"application": {"holder": "350102198001010011"}}}
	authz.allow with input as own
	not authz.allow with input as json.patch(own, [{"op": "replace", "path": "/resource/application/holder", "value": "350102198503150022"}])
	authz.allow with input as json.patch(own, [{"op": "replace", "path": "/principal", "value": hall}])
}

test_holders_list_their_own_applications if {
	authz.allow with input as {"action": "application.mine", "principal": resident, "resource": {"holder": "350102198001010011"}}
	not authz.allow with input as {"action": "application.mine", "principal": hall, "resource": {"holder": ""}}
	authz.reasons["role holder required"] with input as {"action": "application.mine", "principal": hall, "resource": {"holder": ""}}
}

test_supervisors_review_walk_ins if {
	authz.allow with input as {"action": "case.review", "principal": {"sub": "v", "roles": ["supervisor"]}}
	not authz.allow with input as {"action": "case.review", "principal": {"sub": "s1", "org": "11350100MB0000004B", "roles": ["staff"]}}
	not authz.allow with input as {"action": "case.review", "principal": {"sub": "o", "org": "11350100MB00000012", "roles": ["digital_office"]}}
	authz.reasons["role supervisor required"] with input as {"action": "case.review", "principal": {"sub": "s1", "roles": ["staff"]}}
}
