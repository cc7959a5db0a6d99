package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs/mailsink"
	"github.com/madoguchi/madoguchi/tenant"
)

// demoLocations are Matsusaka's five 交付場所 (本庁 and the four 地域振興局).
var demoLocations = []booking.Location{
	{Name: "松阪市役所 本庁 戸籍住民課", Address: "三重県松阪市殿町1340番地1", Guidance: "本庁舎1階 マイナンバーカード交付窓口へお越しください。交付通知書、本人確認書類、通知カード（お持ちの方）、住民基本台帳カード（お持ちの方）をお持ちください。"},
	{Name: "嬉野地域振興局", Address: "三重県松阪市嬉野町1313番地", Guidance: "地域住民課の窓口へお越しください。交付通知書と本人確認書類をお持ちください。"},
	{Name: "三雲地域振興局", Address: "三重県松阪市市場庄町1136番地", Guidance: "地域住民課の窓口へお越しください。交付通知書と本人確認書類をお持ちください。"},
	{Name: "飯南地域振興局", Address: "三重県松阪市飯南町粥見3953番地1", Guidance: "地域住民課の窓口へお越しください。交付通知書と本人確認書類をお持ちください。"},
	{Name: "飯高地域振興局", Address: "三重県松阪市飯高町宮前180番地", Guidance: "地域住民課の窓口へお越しください。交付通知書と本人確認書類をお持ちください。"},
}

// cmdDemo migrates, seeds the demo city matsusaka and the ops console's account and allow-list
// (idempotently) and runs web + worker in one process until SIGTERM.
func cmdDemo(ctx context.Context, cfg *Config, log *slog.Logger, stdout io.Writer) error {
	if err := cmdMigrate(ctx, cfg, nil, stdout); err != nil {
		return err
	}
	a, err := OpenApp(ctx, cfg, log, time.Now)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := seedDemo(ctx, a); err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	opsInitial, err := seedDemoOps(ctx, a)
	if err != nil {
		return fmt.Errorf("seed demo vendor consoles: %w", err)
	}
	sink := startDemoMailSink(cfg, log)
	if sink != nil {
		defer sink.Close()
	}
	web, err := a.Web()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("MADOGUCHI_LISTEN: %w", err)
	}
	il, err := a.openInternal("demo", defaultServeInternalAddr)
	if err != nil {
		ln.Close()
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_, iport, _ := net.SplitHostPort(il.ln.Addr().String())
	fmt.Fprintf(stdout, `
madoguchi demo is running.
  citizen site (松阪市):  http://matsusaka.%[1]s:%[2]s/
  readiness:             http://127.0.0.1:%[3]s/readyz
  metrics:               http://127.0.0.1:%[3]s/metrics
`, cfg.BaseDomain, port, iport)
	if sink != nil {
		fmt.Fprintf(stdout, "  demo mail:             written to %s/ (SMTP sink on %s)\n", demoMailDir, sink.Addr())
	}
	printDemoCredentials(stdout, fmt.Sprintf("http://matsusaka.%s:%s", cfg.BaseDomain, port))
	printDemoOps(stdout, "http://%s."+cfg.BaseDomain+":"+port, opsInitial)
	fmt.Fprintln(stdout, "Press Ctrl+C to stop.")
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return il.serve(ctx, a) })
	g.Go(func() error { return serveUntil(ctx, web, ln, cfg, log) })
	g.Go(func() error { return runWorker(ctx, a) })
	return g.Wait()
}

// seedDemo opens the matsusaka tenant as the vendor would (tenant.Service.Onboard, its first
// admin being the demo's "admin", whose password seedDemoExtras then fixes) and adds its
// locations, unless they exist.
func seedDemo(ctx context.Context, a *App) error {
	t, err := a.Tenants.BySlug(ctx, demoSlug)
	if tenant.ErrorCode(err) == tenant.NotFound {
		t, _, err = a.Tenants.Onboard(ctx, tenant.OnboardInput{Slug: demoSlug, Name: "松阪市", Code: "242047", NameKana: "まつさかし",
			AdminLogin: demoAdminLogin, AdminName: "市管理者（デモ）"}, tenant.System("demo"))
	}
	if err != nil {
		return err
	}
	have, err := a.Booking.Locations(ctx, t.ID, false)
	if err != nil {
		return err
	}
	existing := map[string]bool{}
	for _, l := range have {
		existing[l.Name] = true
	}
	for i, l := range demoLocations {
		if existing[l.Name] {
			continue
		}
		l.SortOrder, l.Active = i, true
		if _, err := a.Booking.AddLocation(ctx, t, l, tenant.System("demo")); err != nil {
			return err
		}
	}
	return seedDemoExtras(ctx, a, t)
}

// demoMailDir is where the demo's SMTP sink writes each message it receives as an .eml file.
const demoMailDir = ".demo/mail"

// startDemoMailSink runs a local SMTP server that stores every message in demoMailDir, when
// MADOGUCHI_SMTP_URL points at this machine (the default smtp://127.0.0.1:1025). If something
// already listens there (another sink), mail goes to it and nil is returned.
func startDemoMailSink(cfg *Config, log *slog.Logger) *mailsink.Sink {
	u, err := url.Parse(cfg.SMTPURL)
	if err != nil || u.Scheme != "smtp" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		return nil
	}
	sink, err := mailsink.Start(net.JoinHostPort("127.0.0.1", u.Port()), demoMailDir)
	if err != nil {
		log.Warn("demo SMTP sink not started; mail goes to whatever listens there", "smtp", u.Host, "err", err)
		return nil
	}
	return sink
}
