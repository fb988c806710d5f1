# The numbers of case work (第十二条). certd reads them whenever it loads
# a policy version; each must be a positive whole number, or the version
# is refused.
package certd.cases

# Walk-in cases (opened without an application) one person may open per
# day, in the city's time zone. Past it openCase is refused (RATE_LIMITED)
# and supervisors see the attempt as an alert in casesForReview.
walk_in_daily_quota := 10

# Working days after it is opened when a case closes by itself.
close_after_working_days := 10

# Working days a submitted application waits to be opened before it
# expires.
application_working_days := 10
