"""The import as a task: queued on commit, progress on the job, a notification when done."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.activities.selectors import notification_text
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers.models import Customer
from bridgecrm.imports import services
from bridgecrm.imports.models import ImportJob, ImportStatus
from bridgecrm.imports.tests.support import write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def test_start_runs_the_import_as_a_task_and_notifies_the_importer(company, var, django_capture_on_commit_callbacks):
    path = write_csv(var / "c.csv", ["name"], [["Alpha"], ["Beta"], [""]])
    job = services.import_job_create(actor=company.manager_a, kind="customers", source=path, original_name="c.csv")
    services.import_job_configure(actor=company.manager_a, job=job, mapping={"name": "name"})
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_start(actor=company.manager_a, job=job)
    job.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_committed, job.progress_percent) == (ImportStatus.DONE, 3, 2, 67)
    assert Customer.objects.count() == 2
    note = Notification.objects.get(recipient=company.manager_a, kind=NotificationKind.IMPORT_DONE)
    assert "c.csv" in notification_text(note) and note.params["created"] == 2
    # The link, resolved without the site's URLconf, is the job page's URL all the same.
    assert note.url == reverse("imports:job", kwargs={"job_id": job.pk})
    with pytest.raises(ApplicationError):
        services.import_job_start(actor=company.manager_a, job=job)  # done: not again


def test_reps_may_not_import_and_others_may_not_start_someone_elses_job(company, var):
    path = write_csv(var / "c.csv", ["name"], [["Alpha"]])
    with pytest.raises(ApplicationError):
        services.import_job_create(actor=company.owner, kind="customers", source=path, original_name="c.csv")
    job = services.import_job_create(actor=company.manager_a, kind="customers", source=path, original_name="c.csv")
    with pytest.raises(ApplicationError):
        services.import_job_start(actor=company.manager_b, job=job)
    assert ImportJob.objects.get().status == ImportStatus.UPLOADED and not Customer.objects.exists()


def test_dry_run_then_start_resets_the_counts(company, var, django_capture_on_commit_callbacks):
    path = write_csv(var / "c.csv", ["name"], [["Alpha"], ["Beta"]])
    job = services.import_job_create(actor=company.admin, kind="customers", source=path, original_name="c.csv")
    services.import_job_configure(actor=company.admin, job=job, mapping={"name": "name"})
    checked = services.import_job_dry_run(actor=company.admin, job=job)
    assert (checked.status, checked.created_count, Customer.objects.count()) == (ImportStatus.VALIDATED, 2, 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_start(actor=company.admin, job=checked)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rows_read, Customer.objects.count()) == (ImportStatus.DONE, 2, 2, 2)


def test_a_second_runner_of_the_same_job_writes_nothing(company, var):
    path = write_csv(var / "c.csv", ["name"], [["Alpha"], ["Beta"]])
    job = services.import_job_create(actor=company.admin, kind="customers", source=path, original_name="c.csv")
    services.import_job_configure(actor=company.admin, job=job, mapping={"name": "name"})
    # The first runner has committed a batch this (stale) copy of the job does not know about.
    ImportJob.objects.filter(pk=job.pk).update(rows_committed=1, status=ImportStatus.RUNNING)
    from bridgecrm.imports import engine

    result = engine.run_job(job)
    assert (result.status, result.rows_committed) == (ImportStatus.RUNNING, 1)
    assert not Customer.objects.exists()
