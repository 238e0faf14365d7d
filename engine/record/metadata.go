package record

// KV is one metadata entry.
type KV struct {
	Key   string
	Value string
}

// Metadata is a small ordered set of string attributes. It is a slice, not a
// map: records typically carry a handful of entries, for which a linear scan
// beats hashing and costs no map allocation per record.
type Metadata []KV

// Get returns the value stored under key.
func (m Metadata) Get(key string) (string, bool) {
	for i := range m {
		if m[i].Key == key {
			return m[i].Value, true
		}
	}
	return "", false
}

// Has reports whether key is present.
func (m Metadata) Has(key string) bool {
	_, ok := m.Get(key)
	return ok
}

// Set stores value under key, replacing any previous value.
func (m *Metadata) Set(key, value string) {
	s := *m
	for i := range s {
		if s[i].Key == key {
			s[i].Value = value
			return
		}
	}
	*m = append(s, KV{Key: key, Value: value})
}

// Delete removes key if present.
func (m *Metadata) Delete(key string) {
	s := *m
	for i := range s {
		if s[i].Key == key {
			*m = append(s[:i], s[i+1:]...)
			return
		}
	}
}

// Map returns the metadata as a new map.
func (m Metadata) Map() map[string]string {
	out := make(map[string]string, len(m))
	for _, kv := range m {
		out[kv.Key] = kv.Value
	}
	return out
}
