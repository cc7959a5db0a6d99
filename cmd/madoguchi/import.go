package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/madoguchi/madoguchi/tenant"
)

const importUsage = "usage: madoguchi import --tenant SLUG FILE.csv"

// cmdImport loads a card CSV (製造管理番号, 生年月日, optional 氏名, 氏名カナ, 保管位置, or the
// column names of the tenant's mapping profile; UTF-8 or Shift_JIS) into one tenant through the
// same staged path as the staff admin's import (booking.ImportCards → CommitImport). Rejected rows are listed but do not fail the command; a file refused
// as a whole (nothing written) does. Only counts are logged, never a row's contents.
func cmdImport(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("tenant", "", "slug of the municipality to load the cards into")
	files, err := parseArgs(fs, args) // flags may come before or after the file
	if err != nil {
		return fmt.Errorf("%s: %w", importUsage, err)
	}
	if *slug == "" || len(files) != 1 {
		return errors.New(importUsage)
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()

	a, err := OpenApp(ctx, cfg, log, time.Now)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.Tenants.BySlug(ctx, *slug)
	if err != nil {
		if tenant.ErrorCode(err) == tenant.NotFound {
			return fmt.Errorf("no tenant %q (see madoguchi tenant list)", *slug)
		}
		return err
	}

	var last time.Time
	progress := func(done int) {
		if time.Since(last) >= time.Second {
			fmt.Fprintf(stderr, "%d 行\n", done)
			last = time.Now()
		}
	}
	res, err := a.Booking.ImportCards(ctx, t, f, progress)
	if err != nil {
		if e := tenant.AsError(err); e != nil && e.Code == tenant.Invalid && e.Err != nil {
			return fmt.Errorf("%s: 取り込めません（何も書き込んでいません）/ file refused, nothing written: %v", files[0], e.Err)
		}
		return fmt.Errorf("%s: 取込に失敗しました（何も書き込んでいません）/ import failed, nothing written: %w", files[0], err)
	}
	fmt.Fprintf(stdout, "取込: 新規 %d件 / 更新 %d件 / 変更なし %d件 / エラー %d件 / 予約と紐付け %d件\n",
		res.Inserted, res.Updated, res.Unchanged, len(res.Rejected), res.Linked)
	fmt.Fprintf(stdout, "imported: %d new / %d updated / %d unchanged / %d rejected / %d linked to bookings\n",
		res.Inserted, res.Updated, res.Unchanged, len(res.Rejected), res.Linked)
	for _, r := range res.Rejected {
		fmt.Fprintf(stdout, "  %d行目: %s\n", r.Line, r.Reason)
	}
	log.Info("cards imported", "tenant", t.Slug, "inserted", res.Inserted, "updated", res.Updated,
		"unchanged", res.Unchanged, "rejected", len(res.Rejected), "linked", res.Linked)
	return nil
}
