package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

type reportCmd struct {
	Server string `required:"" env:"CERTD_SERVER" help:"certd base URL, e.g. http://127.0.0.1:8080."`
	Token  string `required:"" env:"CERTD_TOKEN" help:"Bearer token of the digital office or a supervisor."`
	From   string `required:"" help:"First day of the period, YYYY-MM-DD."`
	To     string `required:"" help:"Last day of the period, YYYY-MM-DD (included)."`
	Out    string `help:"Write the CSV to this file instead of standard output."`
}

const reportQuery = `query($from: Date!, $to: Date!) { supervisionReport(from: $from, to: $to) { from to units {
	unit { code name issuing } issued issuedLate accesses denials paperDespiteAvailable objectionsOpen objectionsOverdue } } }`

// reportColumns are the CSV header, in Chinese and the field name.
var reportColumns = []string{"单位代码 unit", "单位名称 name", "签发单位 issuing", "生成 issued", "逾期生成 issuedLate",
	"调用 accesses", "拒绝 denials", "有电子证照仍收纸质 paperDespiteAvailable", "未办结异议 objectionsOpen", "逾期异议 objectionsOverdue"}

// Run fetches the supervision report and writes it as CSV.
func (c *reportCmd) Run(ctx context.Context, env Env) error {
	for _, d := range []string{c.From, c.To} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return exitError{code: ExitConfig, err: fmt.Errorf("%q is not a date YYYY-MM-DD", d)}
		}
	}
	body, _ := json.Marshal(map[string]any{"query": reportQuery, "variables": map[string]any{"from": c.From, "to": c.To}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Server, "/")+"/graphql", bytes.NewReader(body))
	if err != nil {
		return exitError{code: ExitConfig, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("ask %s: %w", c.Server, err)
	}
	defer resp.Body.Close()
	var out struct {
		Data *struct {
			SupervisionReport struct {
				Units []struct {
					Unit struct {
						Code, Name string
						Issuing    bool
					}
					Issued, IssuedLate, Accesses, Denials, PaperDespiteAvailable, ObjectionsOpen, ObjectionsOverdue int
				}
			}
		}
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("the server answered %s, not GraphQL", resp.Status)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		err := fmt.Errorf("%s: %s", e.Extensions.Code, e.Message)
		if e.Extensions.Code == "UNAUTHENTICATED" || e.Extensions.Code == "FORBIDDEN" {
			return exitError{code: ExitAuth, err: err}
		}
		return err
	}
	var w io.Writer = env.Stdout
	if c.Out != "" {
		f, err := os.OpenFile(c.Out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(reportColumns); err != nil {
		return err
	}
	for _, u := range out.Data.SupervisionReport.Units {
		if err := cw.Write([]string{u.Unit.Code, u.Unit.Name, strconv.FormatBool(u.Unit.Issuing),
			strconv.Itoa(u.Issued), strconv.Itoa(u.IssuedLate), strconv.Itoa(u.Accesses), strconv.Itoa(u.Denials),
			strconv.Itoa(u.PaperDespiteAvailable), strconv.Itoa(u.ObjectionsOpen), strconv.Itoa(u.ObjectionsOverdue)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
