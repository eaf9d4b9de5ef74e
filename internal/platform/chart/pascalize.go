package chart

import "strings"

// Pascalize turns a chart name into a kind as core-provider does — flect.Pascalize(strutil.ToGolangName(name)),
// flect v1.0.3 — so that a definition made here and one made by Krateo serve the same kind:
//
//   - the name is cut into words at every character that is not an ASCII letter or digit, and each word's first
//     letter is capitalized (ToGolangName: fireworks-app → FireworksApp);
//   - that is cut again where a lower-case letter or digit is followed by an upper-case one, and after a known
//     acronym followed by an upper-case letter (flect's parts: FireworksApp → Fireworks, App);
//   - a part that is a known acronym is written upper-case (api-gateway → APIGateway, app-id → AppID, my-api →
//     MyAPI); the first part, unless an acronym, is lower-cased but for its first letter (ABc → Abc).
//
// Where core-provider would make an invalid kind (a name starting with a digit), the kind gets an "X" in front
// so it stays an identifier.
func Pascalize(name string) string {
	var golang strings.Builder
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !isAlnum(r) }) {
		golang.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	parts := flectParts(golang.String())
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i == 0 && acronyms[p]:
			b.WriteString(p)
		case i == 0:
			b.WriteString(strings.ToUpper(p[:1]) + strings.ToLower(p[1:]))
		default:
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	s := b.String()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "X" + s
	}
	return s
}

// flectParts is flect's toParts for a string of ASCII letters and digits: a new part at an upper-case letter
// that follows anything else, or that follows a part which is a known acronym; acronym parts upper-case.
func flectParts(s string) []string {
	if s == "" {
		return nil
	}
	if u := strings.ToUpper(s); acronyms[u] {
		return []string{u}
	}
	var parts []string
	flush := func(x string) {
		if u := strings.ToUpper(x); acronyms[u] {
			x = u
		}
		if x != "" {
			parts = append(parts, x)
		}
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if !isUpper(s[i]) || i == 0 {
			continue
		}
		if !isUpper(s[i-1]) || acronyms[strings.ToUpper(s[start:i])] {
			flush(s[start:i])
			start = i
		}
	}
	flush(s[start:])
	return parts
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// acronyms are flect's baseAcronyms (v1.0.3) that can match: flect looks them up upper-cased, so its mixed-case
// entries (gbps, kbps, Mbps, MoCA, WiFi) never do and are left out.
var acronyms = func() map[string]bool {
	m := map[string]bool{}
	for _, a := range strings.Fields(`OK UTF8 HTML JSON JWT ID UUID SQL ACK ACL ADSL AES ANSI API ARP ATM BGP BSS CCITT
		CHAP CIDR CIR CLI CPE CPU CRC CRT CSMA CMOS DCE DEC DES DHCP DNS DRAM DSL DSLAM DTE DMI EHA EIA EIGRP EOF ESS
		FCC FCS FDDI FTP GBIC GEPOF HDLC HTTP HTTPS IANA ICMP IDF IDS IEEE IETF IMAP IP IPS ISDN ISP LACP LAN LAPB
		LAPF LLC MAC MC MDF MIB MPLS MTU NAC NAT NBMA NIC NRZ NRZI NVRAM OSI OSPF OUI PAP PAT PC PIM PCM PDU POP3
		POTS PPP PPTP PTT PVST RAM RARP RFC RIP RLL ROM RSTP RTP RCP SDLC SFD SFP SLARP SLIP SMTP SNA SNAP SNMP SOF
		SRAM SSH SSID STP SYN TDM TFTP TIA TOFU UDP URL URI USB UTP VC VLAN VLSM VPN W3C WAN WEP WPA WWW`) {
		m[a] = true
	}
	return m
}()
