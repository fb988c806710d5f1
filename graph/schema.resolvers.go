package graph

import (
	"certd/graph/model"
	"certd/internal/apperr"
	"certd/internal/audit"
	"certd/internal/authz"
	"certd/internal/bulk"
	"certd/internal/cases"
	"certd/internal/catalogue"
	"certd/internal/certificate"
	"certd/internal/identity"
	"certd/internal/objection"
	"certd/internal/policyadmin"
	"certd/internal/supervision"
	"context"
	"encoding/json"
	"time"
)

// Key is the resolver for the key field.
func (r *analysisRowResolver) Key(ctx context.Context, obj *bulk.Row) (any, error) {
	return obj.Key, nil
}

// Matter is the resolver for the matter field.
func (r *applicationResolver) Matter(ctx context.Context, obj *cases.Application) (*catalogue.Matter, error) {
	return ptr(r.Catalogue.LookupMatter(ctx, obj.MatterCode))
}

// Unit is the resolver for the unit field.
func (r *applicationResolver) Unit(ctx context.Context, obj *cases.Application) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.LookupUnit(ctx, obj.UnitCode))
}

// Note is the resolver for the note field.
func (r *applicationResolver) Note(ctx context.Context, obj *cases.Application) (*string, error) {
	return optional(obj.Note), nil
}

// Certificate is the resolver for the certificate field.
func (r *batchItemResultResolver) Certificate(ctx context.Context, obj *certificate.BatchItem) (*certificate.View, error) {
	if obj.Certificate == nil {
		return nil, nil
	}
	return own(*obj.Certificate, nil)
}

// Error is the resolver for the error field.
func (r *batchItemResultResolver) Error(ctx context.Context, obj *certificate.BatchItem) (*string, error) {
	if obj.Err == nil {
		return nil, nil
	}
	_, msg, _ := apperr.CodeOf(obj.Err)
	return &msg, nil
}

// ErrorCode is the resolver for the errorCode field.
func (r *batchItemResultResolver) ErrorCode(ctx context.Context, obj *certificate.BatchItem) (*string, error) {
	if obj.Err == nil {
		return nil, nil
	}
	code, _, _ := apperr.CodeOf(obj.Err)
	s := string(code)
	return &s, nil
}

// Matter is the resolver for the matter field.
func (r *caseResolver) Matter(ctx context.Context, obj *cases.Case) (*catalogue.Matter, error) {
	return ptr(r.Catalogue.LookupMatter(ctx, obj.MatterCode))
}

// Unit is the resolver for the unit field.
func (r *caseResolver) Unit(ctx context.Context, obj *cases.Case) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.LookupUnit(ctx, obj.UnitCode))
}

// Certificates is the resolver for the certificates field.
func (r *caseResolver) Certificates(ctx context.Context, obj *cases.Case) ([]*certificate.View, error) {
	return ptrs(r.Casework.Certificates(summariesUnlessAsked(ctx), obj))
}

// MissingTypes is the resolver for the missingTypes field.
func (r *caseResolver) MissingTypes(ctx context.Context, obj *cases.Case) ([]*catalogue.CertificateType, error) {
	missing, held, err := r.Casework.MissingTypes(ctx, obj)
	if err != nil {
		return nil, err
	}
	showMissing(ctx, obj, missing, held)
	return each(ctx, missing, r.Catalogue.LookupType)
}

// AnnotatedCopy is the resolver for the annotatedCopy field.
func (r *caseResolver) AnnotatedCopy(ctx context.Context, obj *cases.Case, certificateID string) (string, error) {
	doc, v, err := r.Casework.AnnotatedCopy(ctx, obj, certificateID)
	if err != nil {
		return "", err
	}
	showAt(ctx, audit.Read{Ref: v.AuditRef(), Fields: v.AnnotatedFields()})
	return doc, nil
}

// PaperSubmissions is the resolver for the paperSubmissions field.
func (r *caseResolver) PaperSubmissions(ctx context.Context, obj *cases.Case) ([]*cases.PaperSubmission, error) {
	return ptrs(r.Casework.PaperSubmissions(ctx, obj))
}

// Cursor is the resolver for the cursor field.
func (r *caseResolver) Cursor(ctx context.Context, obj *cases.Case) (string, error) {
	return encodeCaseCursor(obj), nil
}

// ApplicationID is the resolver for the applicationId field.
func (r *caseResolver) ApplicationID(ctx context.Context, obj *cases.Case) (*string, error) {
	return optional(obj.ApplicationID), nil
}

// WalkInReason is the resolver for the walkInReason field.
func (r *caseResolver) WalkInReason(ctx context.Context, obj *cases.Case) (*string, error) {
	return optional(obj.WalkInReason), nil
}

// ReviewReason is the resolver for the reviewReason field.
func (r *caseResolver) ReviewReason(ctx context.Context, obj *cases.Case) (*model.ReviewReason, error) {
	return reviewReason(obj), nil
}

// RefusedAttempts is the resolver for the refusedAttempts field.
func (r *caseResolver) RefusedAttempts(ctx context.Context, obj *cases.Case) (*int, error) {
	if !obj.Alert {
		return nil, nil
	}
	return &obj.RefusedAttempts, nil
}

// Snapshot is the resolver for the snapshot field.
func (r *catalogueChangeResolver) Snapshot(ctx context.Context, obj *catalogue.Change) (any, error) {
	var v any
	err := json.Unmarshal(obj.Snapshot, &v)
	return v, err
}

// Type is the resolver for the type field.
func (r *certificateResolver) Type(ctx context.Context, obj *certificate.View) (*catalogue.CertificateType, error) {
	return ptr(r.Catalogue.LookupType(ctx, obj.TypeCode))
}

// Issuer is the resolver for the issuer field.
func (r *certificateResolver) Issuer(ctx context.Context, obj *certificate.View) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.LookupUnit(ctx, obj.IssuerCode))
}

// Citable is the resolver for the citable field.
func (r *certificateResolver) Citable(ctx context.Context, obj *certificate.View) (bool, error) {
	return obj.Citable(r.Licences.Today()), nil
}

// Data is the resolver for the data field.
func (r *certificateResolver) Data(ctx context.Context, obj *certificate.View, fields []string) (any, error) {
	return selectFields(obj.Data, fields), nil
}

// Versions is the resolver for the versions field.
func (r *certificateResolver) Versions(ctx context.Context, obj *certificate.View) ([]*certificate.View, error) {
	return ptrs(r.Licences.Versions(ctx, obj))
}

// VerificationCode is the resolver for the verificationCode field.
func (r *certificateResolver) VerificationCode(ctx context.Context, obj *certificate.View) (*string, error) {
	return r.Licences.VerificationCode(ctx, obj), nil
}

// Issuer is the resolver for the issuer field.
func (r *certificateTypeResolver) Issuer(ctx context.Context, obj *catalogue.CertificateType) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.Unit(ctx, obj.IssuerCode))
}

// RequiredTypes is the resolver for the requiredTypes field.
func (r *matterResolver) RequiredTypes(ctx context.Context, obj *catalogue.Matter) ([]*catalogue.CertificateType, error) {
	return each(ctx, obj.RequiredTypes, r.Catalogue.CertificateType)
}

// HandlingUnits is the resolver for the handlingUnits field.
func (r *matterResolver) HandlingUnits(ctx context.Context, obj *catalogue.Matter) ([]*catalogue.Unit, error) {
	return each(ctx, obj.HandlingUnits, r.Catalogue.Unit)
}

// Holder is the resolver for the holder field.
func (r *meResolver) Holder(ctx context.Context, obj *identity.Principal) (*certificate.Holder, error) {
	return r.holderOf(ctx, obj)
}

// Certificates is the resolver for the certificates field.
func (r *meResolver) Certificates(ctx context.Context, obj *identity.Principal) ([]*certificate.View, error) {
	return ptrs(r.Licences.Mine(summariesUnlessAsked(ctx)))
}

// AccessLog is the resolver for the accessLog field.
func (r *meResolver) AccessLog(ctx context.Context, obj *identity.Principal, first *int, after *string) (*model.AccessRecordConnection, error) {
	page, err := r.Audit.Mine(ctx, first, deref(after))
	if err != nil {
		return nil, err
	}
	return accessConnection(page), nil
}

// Objections is the resolver for the objections field.
func (r *meResolver) Objections(ctx context.Context, obj *identity.Principal) ([]*objection.Objection, error) {
	return ptrs(r.ObjectionSvc.Mine(ctx))
}

// Applications is the resolver for the applications field.
func (r *meResolver) Applications(ctx context.Context, obj *identity.Principal) ([]*cases.Application, error) {
	return ptrs(r.Casework.Applications(ctx))
}

// RegisterUnit is the resolver for the registerUnit field.
func (r *mutationResolver) RegisterUnit(ctx context.Context, input catalogue.UnitInput) (*catalogue.Unit, error) {
	return ptr(r.Catalogue.RegisterUnit(ctx, input))
}

// RegisterMatter is the resolver for the registerMatter field.
func (r *mutationResolver) RegisterMatter(ctx context.Context, input catalogue.MatterInput) (*catalogue.Matter, error) {
	return ptr(r.Catalogue.RegisterMatter(ctx, input))
}

// RegisterCertificateType is the resolver for the registerCertificateType field.
func (r *mutationResolver) RegisterCertificateType(ctx context.Context, input model.CertificateTypeInput) (*catalogue.CertificateType, error) {
	return ptr(r.Catalogue.RegisterCertificateType(ctx, typeInput(input)))
}

// UpdateCertificateType is the resolver for the updateCertificateType field.
func (r *mutationResolver) UpdateCertificateType(ctx context.Context, input model.CertificateTypeInput, expectVersion *int) (*catalogue.CertificateType, error) {
	return ptr(r.Catalogue.UpdateCertificateType(ctx, typeInput(input), deref(expectVersion)))
}

// UpdateMatter is the resolver for the updateMatter field.
func (r *mutationResolver) UpdateMatter(ctx context.Context, input catalogue.MatterInput, expectVersion *int) (*catalogue.Matter, error) {
	return ptr(r.Catalogue.UpdateMatter(ctx, input, deref(expectVersion)))
}

// IssueCertificate is the resolver for the issueCertificate field.
func (r *mutationResolver) IssueCertificate(ctx context.Context, input certificate.IssueInput) (*certificate.View, error) {
	return own(r.Licences.Issue(ctx, input))
}

// IssueCertificates is the resolver for the issueCertificates field.
func (r *mutationResolver) IssueCertificates(ctx context.Context, inputs []*certificate.IssueInput) (*certificate.BatchResult, error) {
	ins := make([]certificate.IssueInput, len(inputs))
	for i, in := range inputs {
		ins[i] = *in
	}
	return ptr(r.Licences.IssueBatch(ctx, ins))
}

// ChangeCertificate is the resolver for the changeCertificate field.
func (r *mutationResolver) ChangeCertificate(ctx context.Context, id string, data any, reason string) (*certificate.View, error) {
	m, ok := data.(map[string]any)
	if !ok {
		return nil, apperr.Invalid("data must be a JSON object of the template's fields")
	}
	return own(r.Licences.Change(ctx, id, m, reason))
}

// RenewCertificate is the resolver for the renewCertificate field.
func (r *mutationResolver) RenewCertificate(ctx context.Context, id string, validUntil time.Time) (*certificate.View, error) {
	return own(r.Licences.Renew(ctx, id, validUntil))
}

// SetCertificateState is the resolver for the setCertificateState field.
func (r *mutationResolver) SetCertificateState(ctx context.Context, id string, action certificate.Action, reason string) (*certificate.View, error) {
	return own(r.Licences.SetState(ctx, id, action, reason))
}

// RecordInspection is the resolver for the recordInspection field.
func (r *mutationResolver) RecordInspection(ctx context.Context, id string, passed bool, note *string) (*certificate.View, error) {
	n := ""
	if note != nil {
		n = *note
	}
	return own(r.Licences.RecordInspection(ctx, id, passed, n))
}

// OpenCase is the resolver for the openCase field.
func (r *mutationResolver) OpenCase(ctx context.Context, input cases.OpenInput) (*cases.Case, error) {
	return ptr(r.Casework.Open(ctx, input))
}

// CloseCase is the resolver for the closeCase field.
func (r *mutationResolver) CloseCase(ctx context.Context, id string) (*cases.Case, error) {
	return ptr(r.Casework.Close(ctx, id))
}

// RecordPaperSubmission is the resolver for the recordPaperSubmission field.
func (r *mutationResolver) RecordPaperSubmission(ctx context.Context, caseID string, typeCode string, reason string) (*cases.Case, error) {
	return ptr(r.Casework.RecordPaper(ctx, caseID, typeCode, reason))
}

// PublishPolicy is the resolver for the publishPolicy field.
func (r *mutationResolver) PublishPolicy(ctx context.Context, modules []*authz.Module, message string, basedOn *int) (*policyadmin.Version, error) {
	return ptr(r.PolicyAdmin.Publish(ctx, moduleValues(modules), message, deref(basedOn)))
}

// RollbackPolicy is the resolver for the rollbackPolicy field.
func (r *mutationResolver) RollbackPolicy(ctx context.Context, version int) (*policyadmin.Version, error) {
	return ptr(r.PolicyAdmin.Rollback(ctx, version))
}

// ApprovePolicyVersion is the resolver for the approvePolicyVersion field.
func (r *mutationResolver) ApprovePolicyVersion(ctx context.Context, version int) (*policyadmin.Version, error) {
	return ptr(r.PolicyAdmin.Approve(ctx, version))
}

// RejectPolicyVersion is the resolver for the rejectPolicyVersion field.
func (r *mutationResolver) RejectPolicyVersion(ctx context.Context, version int, reason string) (*policyadmin.Version, error) {
	return ptr(r.PolicyAdmin.Reject(ctx, version, reason))
}

// FileObjection is the resolver for the fileObjection field.
func (r *mutationResolver) FileObjection(ctx context.Context, certificateID string, fields []string, description string, caseID *string) (*objection.Objection, error) {
	return ptr(r.ObjectionSvc.File(ctx, certificateID, fields, description, deref(caseID)))
}

// ResolveObjection is the resolver for the resolveObjection field.
func (r *mutationResolver) ResolveObjection(ctx context.Context, id string, outcome objection.State, note string, correctedData any) (*objection.Objection, error) {
	var data map[string]any
	if correctedData != nil {
		m, ok := correctedData.(map[string]any)
		if !ok {
			return nil, apperr.Invalid("correctedData must be a JSON object of the template's fields")
		}
		data = m
	}
	return ptr(r.ObjectionSvc.Resolve(ctx, id, outcome, note, data))
}

// SubmitApplication is the resolver for the submitApplication field.
func (r *mutationResolver) SubmitApplication(ctx context.Context, input cases.ApplicationInput) (*cases.Application, error) {
	return ptr(r.Casework.Submit(ctx, input))
}

// WithdrawApplication is the resolver for the withdrawApplication field.
func (r *mutationResolver) WithdrawApplication(ctx context.Context, id string) (*cases.Application, error) {
	return ptr(r.Casework.Withdraw(ctx, id))
}

// SubmitBulkAnalysis is the resolver for the submitBulkAnalysis field.
func (r *mutationResolver) SubmitBulkAnalysis(ctx context.Context, input bulk.SubmitInput) (*bulk.Request, error) {
	return ptr(r.Bulk.Submit(ctx, input))
}

// ApproveBulkAnalysis is the resolver for the approveBulkAnalysis field.
func (r *mutationResolver) ApproveBulkAnalysis(ctx context.Context, id string, comment *string) (*bulk.Request, error) {
	return ptr(r.Bulk.Approve(ctx, id, deref(comment)))
}

// RejectBulkAnalysis is the resolver for the rejectBulkAnalysis field.
func (r *mutationResolver) RejectBulkAnalysis(ctx context.Context, id string, reason string) (*bulk.Request, error) {
	return ptr(r.Bulk.Reject(ctx, id, reason))
}

// RunBulkAnalysis is the resolver for the runBulkAnalysis field.
func (r *mutationResolver) RunBulkAnalysis(ctx context.Context, id string) (*bulk.Result, error) {
	return ptr(r.Bulk.Run(ctx, id))
}

// Certificate is the resolver for the certificate field.
func (r *objectionResolver) Certificate(ctx context.Context, obj *objection.Objection) (*certificate.View, error) {
	return ptr(r.Licences.Get(ctx, obj.CertificateID))
}

// Overdue is the resolver for the overdue field.
func (r *objectionResolver) Overdue(ctx context.Context, obj *objection.Objection) (bool, error) {
	return obj.Overdue(r.Licences.Now()), nil
}

// Type is the resolver for the type field.
func (r *paperSubmissionResolver) Type(ctx context.Context, obj *cases.PaperSubmission) (*catalogue.CertificateType, error) {
	return ptr(r.Catalogue.LookupType(ctx, obj.TypeCode))
}

// Active is the resolver for the active field.
func (r *policyVersionResolver) Active(ctx context.Context, obj *policyadmin.Version) (bool, error) {
	return obj.Version == r.Engine.Version(), nil
}

// ApprovedBy is the resolver for the approvedBy field.
func (r *policyVersionResolver) ApprovedBy(ctx context.Context, obj *policyadmin.Version) (*string, error) {
	return nonZero(obj.ApprovedBy), nil
}

// BasedOn is the resolver for the basedOn field.
func (r *policyVersionResolver) BasedOn(ctx context.Context, obj *policyadmin.Version) (*int, error) {
	return nonZero(obj.BasedOn), nil
}

// RollbackOf is the resolver for the rollbackOf field.
func (r *policyVersionResolver) RollbackOf(ctx context.Context, obj *policyadmin.Version) (*int, error) {
	return nonZero(obj.RollbackOf), nil
}

// RejectedBy is the resolver for the rejectedBy field.
func (r *policyVersionResolver) RejectedBy(ctx context.Context, obj *policyadmin.Version) (*string, error) {
	return nonZero(obj.RejectedBy), nil
}

// RejectReason is the resolver for the rejectReason field.
func (r *policyVersionResolver) RejectReason(ctx context.Context, obj *policyadmin.Version) (*string, error) {
	return nonZero(obj.RejectReason), nil
}

// Units is the resolver for the units field.
func (r *queryResolver) Units(ctx context.Context) ([]*catalogue.Unit, error) {
	return ptrs(r.Catalogue.Units(ctx))
}

// Unit is the resolver for the unit field.
func (r *queryResolver) Unit(ctx context.Context, code string) (*catalogue.Unit, error) {
	return orNil(r.Catalogue.Unit(ctx, code))
}

// Matters is the resolver for the matters field.
func (r *queryResolver) Matters(ctx context.Context) ([]*catalogue.Matter, error) {
	return ptrs(r.Catalogue.Matters(ctx))
}

// Matter is the resolver for the matter field.
func (r *queryResolver) Matter(ctx context.Context, code string) (*catalogue.Matter, error) {
	return orNil(r.Catalogue.Matter(ctx, code))
}

// CertificateTypes is the resolver for the certificateTypes field.
func (r *queryResolver) CertificateTypes(ctx context.Context) ([]*catalogue.CertificateType, error) {
	return ptrs(r.Catalogue.CertificateTypes(ctx))
}

// CertificateType is the resolver for the certificateType field.
func (r *queryResolver) CertificateType(ctx context.Context, code string) (*catalogue.CertificateType, error) {
	return orNil(r.Catalogue.CertificateType(ctx, code))
}

// CatalogueChanges is the resolver for the catalogueChanges field.
func (r *queryResolver) CatalogueChanges(ctx context.Context, kind catalogue.EntityKind, code *string) ([]*catalogue.Change, error) {
	c := ""
	if code != nil {
		c = *code
	}
	return ptrs(r.Catalogue.Changes(ctx, kind, c))
}

// Me is the resolver for the me field.
func (r *queryResolver) Me(ctx context.Context) (*identity.Principal, error) {
	return identity.Require(ctx)
}

// Certificate is the resolver for the certificate field.
func (r *queryResolver) Certificate(ctx context.Context, id string) (*certificate.View, error) {
	return orNil(r.Licences.Get(ctx, id))
}

// Certificates is the resolver for the certificates field.
func (r *queryResolver) Certificates(ctx context.Context, filter *model.CertificateFilter, first *int, after *string) (*model.CertificateConnection, error) {
	var f certificate.Filter
	if filter != nil {
		f.TypeCode, f.HolderCode = deref(filter.TypeCode), deref(filter.HolderCode)
		if filter.State != nil {
			f.State = *filter.State
		}
	}
	page, err := r.Licences.List(summariesUnlessAsked(ctx), f, first, deref(after))
	if err != nil {
		return nil, err
	}
	return connection(page), nil
}

// VerifyCertificate is the resolver for the verifyCertificate field.
func (r *queryResolver) VerifyCertificate(ctx context.Context, id string, code *string, caseID *string) (*certificate.Verification, error) {
	if caseID != nil {
		return ptr(r.Casework.Verify(ctx, *caseID, id))
	}
	return ptr(r.Licences.Verify(ctx, id, deref(code)))
}

// VerifyDocument is the resolver for the verifyDocument field.
func (r *queryResolver) VerifyDocument(ctx context.Context, document string) (*certificate.Verification, error) {
	return ptr(r.Licences.VerifyDocument(ctx, document))
}

// Case is the resolver for the case field.
func (r *queryResolver) Case(ctx context.Context, id string) (*cases.Case, error) {
	return orNil(r.Casework.Get(ctx, id))
}

// Cases is the resolver for the cases field.
func (r *queryResolver) Cases(ctx context.Context, openOnly *bool, first *int, after *string) ([]*cases.Case, error) {
	cur, err := caseCursor(after)
	if err != nil {
		return nil, err
	}
	return ptrs(r.Casework.List(ctx, openOnly == nil || *openOnly, first, cur))
}

// CasesForReview is the resolver for the casesForReview field.
func (r *queryResolver) CasesForReview(ctx context.Context, first *int, after *string) ([]*cases.Case, error) {
	cur, err := caseCursor(after)
	if err != nil {
		return nil, err
	}
	return ptrs(r.Casework.Review(ctx, first, cur))
}

// AccessRecords is the resolver for the accessRecords field.
func (r *queryResolver) AccessRecords(ctx context.Context, filter *audit.Filter, first *int, after *string) (*model.AccessRecordConnection, error) {
	var f audit.Filter
	if filter != nil {
		f = *filter
	}
	page, err := r.Audit.Records(ctx, f, first, deref(after))
	if err != nil {
		return nil, err
	}
	return accessConnection(page), nil
}

// Objections is the resolver for the objections field.
func (r *queryResolver) Objections(ctx context.Context, state *objection.State) ([]*objection.Objection, error) {
	return ptrs(r.ObjectionSvc.List(ctx, deref(state)))
}

// OverdueObjections is the resolver for the overdueObjections field.
func (r *queryResolver) OverdueObjections(ctx context.Context) ([]*objection.Objection, error) {
	return ptrs(r.ObjectionSvc.Overdue(ctx))
}

// SupervisionReport is the resolver for the supervisionReport field.
func (r *queryResolver) SupervisionReport(ctx context.Context, from time.Time, to time.Time) (*supervision.Report, error) {
	return ptr(r.Supervision.Report(ctx, from, to))
}

// BulkAnalysisRequests is the resolver for the bulkAnalysisRequests field.
func (r *queryResolver) BulkAnalysisRequests(ctx context.Context, state *bulk.State) ([]*bulk.Request, error) {
	return ptrs(r.Bulk.List(ctx, deref(state)))
}

// Policies is the resolver for the policies field.
func (r *queryResolver) Policies(ctx context.Context) ([]*policyadmin.Version, error) {
	return ptrs(r.PolicyAdmin.Versions(ctx))
}

// ActivePolicy is the resolver for the activePolicy field.
func (r *queryResolver) ActivePolicy(ctx context.Context) (*policyadmin.Version, error) {
	return ptr(r.PolicyAdmin.Active(ctx))
}

// ExplainDecision is the resolver for the explainDecision field.
func (r *queryResolver) ExplainDecision(ctx context.Context, query string, input any) (*policyadmin.Decision, error) {
	in, ok := input.(map[string]any)
	if !ok {
		return nil, apperr.Invalid("input must be a JSON object")
	}
	return ptr(r.PolicyAdmin.Explain(ctx, query, in))
}

// TestPolicy is the resolver for the testPolicy field.
func (r *queryResolver) TestPolicy(ctx context.Context, modules []*authz.Module) (*model.PolicyTestReport, error) {
	rep, err := r.PolicyAdmin.Test(ctx, moduleValues(modules))
	if err != nil {
		return nil, err
	}
	return policyTestReport(rep), nil
}

// AuditStatus is the resolver for the auditStatus field.
func (r *queryResolver) AuditStatus(ctx context.Context) (*model.AuditChainStatus, error) {
	st, err := r.Audit.Status(ctx)
	if err != nil {
		return nil, err
	}
	return auditChainStatus(st), nil
}

// State is the resolver for the state field.
func (r *verificationResolver) State(ctx context.Context, obj *certificate.Verification) (*certificate.State, error) {
	if !obj.Found {
		return nil, nil
	}
	return &obj.State, nil
}

// Issuer is the resolver for the issuer field.
func (r *verificationResolver) Issuer(ctx context.Context, obj *certificate.Verification) (*catalogue.Unit, error) {
	if obj.IssuerCode == "" {
		return nil, nil
	}
	u, err := r.Catalogue.LookupUnit(ctx, obj.IssuerCode)
	if err != nil {
		return orNil(u, err)
	}
	// Anyone verifies: the issuer's public identity only.
	return &catalogue.Unit{Code: u.Code, Name: u.Name, Issuing: u.Issuing, SealPublicKey: u.SealPublicKey, Version: u.Version}, nil
}

// States is the resolver for the states field.
func (r *analysisFilterResolver) States(ctx context.Context, obj *bulk.Filter, data []certificate.State) error {
	obj.States = make([]string, len(data))
	for i, st := range data {
		obj.States[i] = string(st)
	}
	return nil
}

// Data is the resolver for the data field.
func (r *issueInputResolver) Data(ctx context.Context, obj *certificate.IssueInput, data any) error {
	m, ok := data.(map[string]any)
	if !ok {
		return apperr.Invalid("data must be a JSON object of the template's fields")
	}
	obj.Data = m
	return nil
}

// AnalysisRow returns AnalysisRowResolver implementation.
func (r *Resolver) AnalysisRow() AnalysisRowResolver { return &analysisRowResolver{r} }

// Application returns ApplicationResolver implementation.
func (r *Resolver) Application() ApplicationResolver { return &applicationResolver{r} }

// BatchItemResult returns BatchItemResultResolver implementation.
func (r *Resolver) BatchItemResult() BatchItemResultResolver { return &batchItemResultResolver{r} }

// Case returns CaseResolver implementation.
func (r *Resolver) Case() CaseResolver { return &caseResolver{r} }

// CatalogueChange returns CatalogueChangeResolver implementation.
func (r *Resolver) CatalogueChange() CatalogueChangeResolver { return &catalogueChangeResolver{r} }

// Certificate returns CertificateResolver implementation.
func (r *Resolver) Certificate() CertificateResolver { return &certificateResolver{r} }

// CertificateType returns CertificateTypeResolver implementation.
func (r *Resolver) CertificateType() CertificateTypeResolver { return &certificateTypeResolver{r} }

// Matter returns MatterResolver implementation.
func (r *Resolver) Matter() MatterResolver { return &matterResolver{r} }

// Me returns MeResolver implementation.
func (r *Resolver) Me() MeResolver { return &meResolver{r} }

// Mutation returns MutationResolver implementation.
func (r *Resolver) Mutation() MutationResolver { return &mutationResolver{r} }

// Objection returns ObjectionResolver implementation.
func (r *Resolver) Objection() ObjectionResolver { return &objectionResolver{r} }

// PaperSubmission returns PaperSubmissionResolver implementation.
func (r *Resolver) PaperSubmission() PaperSubmissionResolver { return &paperSubmissionResolver{r} }

// PolicyVersion returns PolicyVersionResolver implementation.
func (r *Resolver) PolicyVersion() PolicyVersionResolver { return &policyVersionResolver{r} }

// Query returns QueryResolver implementation.
func (r *Resolver) Query() QueryResolver { return &queryResolver{r} }

// Verification returns VerificationResolver implementation.
func (r *Resolver) Verification() VerificationResolver { return &verificationResolver{r} }

// AnalysisFilter returns AnalysisFilterResolver implementation.
func (r *Resolver) AnalysisFilter() AnalysisFilterResolver { return &analysisFilterResolver{r} }

// IssueInput returns IssueInputResolver implementation.
func (r *Resolver) IssueInput() IssueInputResolver { return &issueInputResolver{r} }

type (
	analysisRowResolver     struct{ *Resolver }
	applicationResolver     struct{ *Resolver }
	batchItemResultResolver struct{ *Resolver }
	caseResolver            struct{ *Resolver }
	catalogueChangeResolver struct{ *Resolver }
	certificateResolver     struct{ *Resolver }
	certificateTypeResolver struct{ *Resolver }
	matterResolver          struct{ *Resolver }
	meResolver              struct{ *Resolver }
	mutationResolver        struct{ *Resolver }
	objectionResolver       struct{ *Resolver }
	paperSubmissionResolver struct{ *Resolver }
	policyVersionResolver   struct{ *Resolver }
	queryResolver           struct{ *Resolver }
	verificationResolver    struct{ *Resolver }
	analysisFilterResolver  struct{ *Resolver }
	issueInputResolver      struct{ *Resolver }
)
