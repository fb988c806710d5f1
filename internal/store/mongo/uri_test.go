package mongo

import "testing"

func TestDatabaseFromURIParsing(t *testing.T) {
	for uri, want := range map[string]string{
		"mongodb://127.0.0.1:27017/":                       "",
		"mongodb://127.0.0.1:27017":                        "",
		"mongodb://u:p%2Fw@h1:1,h2:2/certd?replicaSet=rs0": "certd",
		"mongodb+srv://cluster.example.com/prod?tls=true":  "prod",
		"mongodb://%2Ftmp%2Fmongodb-27017.sock/certd_test": "certd_test",
		"not a uri": "",
	} {
		if got := databaseFromURI(uri); got != want {
			t.Errorf("databaseFromURI(%q) = %q, want %q", uri, got, want)
		}
	}
}
