package certd.cases_test

import data.certd.cases

test_limits_are_positive_whole_numbers if {
	every n in [cases.walk_in_daily_quota, cases.close_after_working_days, cases.application_working_days] {
		is_number(n)
		n >= 1
		n == floor(n)
	}
}

# A quota is a limit: a day's walk-ins stay few, so that harvesting shows.
test_walk_in_quota_stays_small if {
	cases.walk_in_daily_quota <= 50
}

# Cases do not stay open for months.
test_cases_close_within_a_working_month if {
	cases.close_after_working_days <= 22
}
