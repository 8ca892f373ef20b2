package broker_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
)

func TestGatewayIdentityNames(t *testing.T) {
	g := broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-1"}
	for _, tt := range []struct{ what, got, want string }{
		{"CommonName", g.CommonName(), "lhr-01.gw-1"},
		{"NATSUser", g.NATSUser(), "CN=lhr-01.gw-1"},
		{"ClientID", g.ClientID(), "lhr-01_gw-1"},
		{"String", g.String(), "lhr-01/gw-1"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	if cn, _ := pki.GatewayCN(g.Centre, g.Gateway); cn != g.CommonName() {
		t.Errorf("CommonName %q differs from pki.GatewayCN %q", g.CommonName(), cn)
	}
}

func TestGatewayRights(t *testing.T) {
	got := broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-1"}.Rights()
	want := broker.Rights{
		Publish:     []string{"seats.v1.lhr-01.gw-1.>"},
		PublishDeny: []string{"seats.v1.lhr-01.gw-1.ack", "seats.v1.lhr-01.gw-1.journal", "seats.v1.lhr-01.gw-1.firmware"},
		Subscribe: []string{"seats.v1.lhr-01.gw-1.ack", "seats.v1.lhr-01.gw-1.journal", "seats.v1.lhr-01.gw-1.firmware",
			"seats.v1.lhr-01.journal"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rights:\ngot  %+v\nwant %+v", got, want)
	}
	for _, s := range append(append(got.Publish, got.PublishDeny...), got.Subscribe...) {
		if strings.HasPrefix(s, "$MQTT") {
			t.Errorf("right %q on an internal MQTT subject", s)
		}
	}
}

func TestSubjectToTopic(t *testing.T) {
	for subject, want := range map[string]string{
		"seats.v1.lhr-01.gw-1.>":            "seats/v1/lhr-01/gw-1/#",
		"seats.v1.lhr-01.*.ack":             "seats/v1/lhr-01/+/ack",
		"seats.v1.lhr-01.gw-1.journal.want": "seats/v1/lhr-01/gw-1/journal/want",
	} {
		if got := broker.SubjectToTopic(subject); got != want {
			t.Errorf("SubjectToTopic(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestGeneratorsRefuseBadInput(t *testing.T) {
	ok := []broker.GatewayIdentity{gwA}
	for _, tt := range []struct {
		name     string
		services []string
		gws      []broker.GatewayIdentity
	}{
		{"service with a dot", []string{"seat.hq"}, ok},
		{"upper-case gateway", []string{hqUser}, []broker.GatewayIdentity{{Centre: "LHR", Gateway: "gw-1"}}},
		{"wildcard gateway", []string{hqUser}, []broker.GatewayIdentity{{Centre: "lhr-01", Gateway: "#"}}},
		{"reserved gateway", []string{hqUser}, []broker.GatewayIdentity{{Centre: "lhr-01", Gateway: "journal"}}},
		{"duplicate", []string{hqUser}, []broker.GatewayIdentity{gwA, gwA}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := broker.WriteMosquittoACL(&buf, tt.services, tt.gws); err == nil {
				t.Errorf("WriteMosquittoACL: got nil error, wrote:\n%s", buf.String())
			}
			buf.Reset()
			if err := broker.WriteNATSAuthorization(&buf, tt.services[0], tt.gws); err == nil {
				t.Errorf("WriteNATSAuthorization: got nil error, wrote:\n%s", buf.String())
			}
		})
	}
	if err := (broker.GatewayIdentity{Centre: "lhr-01", Gateway: "journal"}).Validate(); !errors.Is(err, pki.ErrInvalidID) {
		t.Errorf("Validate(reserved): got %v, want ErrInvalidID", err)
	}
}
