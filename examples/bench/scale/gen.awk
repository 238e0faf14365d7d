# Writes scale.sh's input: n JSON lines of about 85 bytes,
#   {"id":0,"user":"u495","amount":603,"country":"IT","type":"buy","ts":1767225600000}
# user u0..u999, amount 0..1000, country one of 8, from a fixed-seed
# MINSTD generator (the same file with any awk), and writes to the file
# named by counts the numbers of records each benchmark pipeline must
# deliver, computed here, independently of the engine.
# Usage: awk -v n=RECORDS -v counts=FILE -f gen.awk > data.jsonl
BEGIN {
	split("DE FR US GB ES IT NL PL", cc, " ")
	s = 12345
	for (i = 0; i < n; i++) {
		s = (s * 48271) % 2147483647; u = s % 1000
		s = (s * 48271) % 2147483647; a = s % 1001
		s = (s * 48271) % 2147483647; c = cc[s % 8 + 1]
		printf "{\"id\":%.0f,\"user\":\"u%d\",\"amount\":%d,\"country\":\"%s\",\"type\":\"buy\",\"ts\":%.0f}\n", i, u, a, c, 1767225600000 + i
		if (a > 500) gt500++
		if (c == "DE") de++
		# regex-filter.yaml's condition, in awk's own regular expressions.
		if (("u" u "-" c "-" a) ~ /^u[0-9]+7-(DE|FR)-/) matches++
	}
	printf "records %.0f\namount_gt_500 %.0f\ncountry_de %.0f\nregex_matches %.0f\n", n, gt500, de, matches > counts
}
