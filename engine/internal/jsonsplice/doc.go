// Package jsonsplice stores a JSON value at a dot path inside a JSON
// object and keeps every other byte of the object as it is: the lookup
// stage's enrichment (result_field) and the mapping stage's set, without
// decoding and re-encoding the payload; AppendRemove is the mapping
// stage's remove.
//
//	p, _ := jsonsplice.ParsePath("user.profile")
//	out, err := p.AppendSet(nil, []byte(`{"id":1,"user":{"name":"ann"}}`), []byte(`{"tier":"gold"}`))
//	// out: {"id":1,"user":{"name":"ann","profile":{"tier":"gold"}}}
//
// Parse a path once and reuse it; a Path is immutable. AppendSet reads
// only the members on the path (it skips the others without validating
// them) and writes into a caller's buffer, so a batch of records can share
// one allocation (Path.Overhead bounds the growth).
//
// Why not github.com/buger/jsonparser.Set or github.com/tidwall/sjson: both
// are slower on the lookup stage's case, allocate per call, and overwrite a
// non-object on the path silently (sjson also reads paths as queries);
// README.md has the numbers and the commands.
package jsonsplice
