package codes

import "testing"

func TestValidCreditCode(t *testing.T) {
	for _, s := range []string{"91310110666007217T", "11100000000013338W", "11110000000021135M", "11220000013544541J"} {
		if !ValidCreditCode(s) {
			t.Errorf("%s should be valid", s)
		}
	}
	for _, s := range []string{"", "91310110666007217", "91310110666007217X", "91310110666007217t", "9131011066600721IT", "913101106660072177T", `{"$gt":""}`} {
		if ValidCreditCode(s) {
			t.Errorf("%q should be invalid", s)
		}
	}
}

func TestValidResidentID(t *testing.T) {
	for _, s := range []string{"321083197812162119", "33010219200403064X"} {
		if !ValidResidentID(s) {
			t.Errorf("%s should be valid", s)
		}
	}
	for _, s := range []string{"321083197812162118", "33010219200403064x", "32108319781216211", "321083197813322116", "ABCDEFGHIJKLMNOPQR"} {
		if ValidResidentID(s) {
			t.Errorf("%q should be invalid", s)
		}
	}
}

func TestMod3736(t *testing.T) {
	// The public identifiers of DESIGN §5 without root and dots.
	cases := map[string]byte{
		"11100000000013338W011" + "11110000000021135M" + "20230329701" + "003": 'Y',
		"11100000000013338W032" + "11220000013544541J" + "2430599" + "001":     'F',
	}
	for in, want := range cases {
		got, ok := Mod3736(in)
		if !ok || got != want {
			t.Errorf("Mod3736(%s) = %c %v, want %c", in, got, ok, want)
		}
	}
	if _, ok := Mod3736("abc"); ok {
		t.Error("lower case must be refused")
	}
	if _, ok := Mod3736(""); ok {
		t.Error("empty input must be refused")
	}
}

func FuzzValidCreditCode(f *testing.F) {
	f.Add("91310110666007217T")
	f.Add("11100000000013338W")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidCreditCode(s) {
			// Any accepted code has 18 characters from the alphabet, and
			// changing its check character makes it invalid.
			if len(s) != 18 {
				t.Fatalf("accepted %q of length %d", s, len(s))
			}
			alt := []byte(s)
			if alt[17] == '0' {
				alt[17] = '1'
			} else {
				alt[17] = '0'
			}
			if ValidCreditCode(string(alt)) {
				t.Fatalf("both %q and %q accepted", s, alt)
			}
		}
	})
}

func FuzzValidResidentID(f *testing.F) {
	f.Add("321083197812162119")
	f.Add("33010219200403064X")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidResidentID(s) && len(s) != 18 {
			t.Fatalf("accepted %q", s)
		}
	})
}
