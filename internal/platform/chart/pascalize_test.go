package chart

import "testing"

// The kinds core-provider makes of chart names: flect.Pascalize(strutil.ToGolangName(name)) with flect v1.0.3,
// run on each name (the first five are the charts of Krateo's testdata/examples and testdata/test).
func TestPascalizeAsCoreProvider(t *testing.T) {
	tests := []struct{ name, want string }{
		{"fireworks-app", "FireworksApp"},
		{"jenkins", "Jenkins"},
		{"postgresql", "Postgresql"},
		{"github-scaffolding", "GithubScaffolding"},
		{"github-scaffolding-with-composition-page", "GithubScaffoldingWithCompositionPage"},
		{"api", "API"},
		{"api-gateway", "APIGateway"},
		{"id", "ID"},
		{"id-provider", "IDProvider"},
		{"http-server", "HTTPServer"},
		{"https-proxy", "HTTPSProxy"},
		{"json-api", "JSONAPI"},
		{"my-api", "MyAPI"},
		{"app-id", "AppID"},
		{"sql-db", "SQLDb"},
		{"uuid", "UUID"},
		{"dns", "DNS"},
		{"vpn-gateway", "VPNGateway"},
		{"k8s-app", "K8sApp"},
		{"url-shortener", "URLShortener"},
		{"Api", "API"},
		{"apiGateway", "APIGateway"},
		{"ApiGateway", "APIGateway"},
		{"restAPI", "RestAPI"},
		{"cli-tools", "CLITools"},
		{"ok", "OK"},
		{"mc-server", "MCServer"},
		{"pop3", "POP3"},
		{"w3c-validator", "W3CValidator"},
		{"utf8", "UTF8"},
		{"app2", "App2"},
		{"ssh-bastion", "SSHBastion"},
		{"ip-allocator", "IPAllocator"},
		{"ipam", "Ipam"},
		{"idp", "Idp"},
		{"ids", "IDS"},
		{"my_chart", "MyChart"},
		{"my.chart", "MyChart"},
		{"HTTPServer", "HTTPServer"},
		{"xml-api", "XmlAPI"},
		{"a", "A"},
		{"aws-vpc", "AwsVpc"},
		{"wifi", "Wifi"}, // flect's WiFi is mixed case: never matched
		{"tofu-runner", "TOFURunner"},
		{"eof", "EOF"},
	}
	for _, tt := range tests {
		if got := Pascalize(tt.name); got != tt.want {
			t.Errorf("Pascalize(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Where core-provider would make no valid kind, runplane's still is an identifier.
func TestPascalizeKeepsAnIdentifier(t *testing.T) {
	for name, want := range map[string]string{"3scale": "X3scale", "1-api": "X1API", "---": "", "": "", "über-app": "BerApp"} {
		if got := Pascalize(name); got != want {
			t.Errorf("Pascalize(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzPascalize(f *testing.F) {
	for _, s := range []string{"fireworks-app", "api-gateway", "HTTPServer", "1-api", "a_B-c.D", "ÄPI"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		k := Pascalize(name)
		for i := 0; i < len(k); i++ {
			if c := k[i]; !isAlnum(rune(c)) || i == 0 && !isUpper(c) {
				t.Fatalf("Pascalize(%q) = %q: not an identifier starting upper-case", name, k)
			}
		}
	})
}
