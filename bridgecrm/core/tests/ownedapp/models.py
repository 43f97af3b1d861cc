from django.conf import settings
from django.db import models

from bridgecrm.core.visibility import OwnedQuerySet


class NoteQuerySet(OwnedQuerySet["Note"]):
    pass


class Note(models.Model):
    title = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    collaborators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    objects = NoteQuerySet.as_manager()

    def __str__(self) -> str:
        return self.title
