"""Enrichment review API: list your items, show one, accept or reject one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from sms.api.common import ErrorSerializer, OperationApi, authenticated_user
from sms.models import EnrichmentItem, ItemKind, ItemSource, ItemStatus
from sms.selectors import enrichment_item_list
from sms.services.review import REVIEW_STATUSES, enrichment_item_review


class PersonDetailsSerializer(serializers.Serializer):
    name = serializers.CharField()
    context = serializers.CharField(help_text="The sentence of the text that names them.")  # type: ignore[assignment]
    relation = serializers.CharField(required=False, help_text='As written: "sister", "friend"…')


class LocationDetailsSerializer(serializers.Serializer):
    place = serializers.CharField()
    kind = serializers.CharField(required=False, help_text="city, state or country")
    country = serializers.CharField(required=False, help_text="ISO 3166-1 alpha-2")
    latitude = serializers.FloatField(required=False)
    longitude = serializers.FloatField(required=False)


class ContactDetailsSerializer(serializers.Serializer):
    name = serializers.CharField()
    phones = serializers.ListField(child=serializers.CharField())
    emails = serializers.ListField(child=serializers.CharField())
    organization = serializers.CharField(allow_blank=True)


class DateDetailsSerializer(serializers.Serializer):
    date = serializers.DateField()
    text = serializers.CharField(help_text="The words that named it.")


DETAILS: dict[str, type[serializers.Serializer]] = {
    ItemKind.PERSON: PersonDetailsSerializer,
    ItemKind.LOCATION: LocationDetailsSerializer,
    ItemKind.CONTACT: ContactDetailsSerializer,
    ItemKind.DATE: DateDetailsSerializer,
}


class EnrichmentItemOutputSerializer(serializers.ModelSerializer):
    """An item. ``person``, ``location``, ``contact`` and ``date`` hold the structured fields of
    an item of that kind (null for the others); ``metadata`` holds everything the extractor kept."""

    message_sid = serializers.CharField(source="message.message_sid", allow_null=True, default=None)
    person = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    date = serializers.SerializerMethodField()

    class Meta:
        model = EnrichmentItem
        fields = (
            "id",
            "kind",
            "value",
            "source",
            "status",
            "person",
            "location",
            "contact",
            "date",
            "metadata",
            "message_sid",
            "media",
            "created_at",
        )
        read_only_fields = fields

    def _details(self, item: EnrichmentItem, kind: str) -> dict[str, Any] | None:
        if item.kind != kind:
            return None
        serializer = DETAILS[kind]
        metadata = item.metadata if isinstance(item.metadata, dict) else {}
        names: list[str] = list(serializer().fields)
        data: dict[str, Any] = {name: metadata[name] for name in names if metadata.get(name) not in (None, "")}
        if kind == ItemKind.PERSON:
            data.setdefault("name", item.value)
            data.setdefault("context", "")
        elif kind == ItemKind.LOCATION:
            data.setdefault("place", item.value)
        elif kind == ItemKind.CONTACT:
            data = {"name": item.value, "phones": [], "emails": [], "organization": "", **data}
        elif kind == ItemKind.DATE:
            data.setdefault("date", item.value)
            data.setdefault("text", item.value)
        return data

    @extend_schema_field(PersonDetailsSerializer(allow_null=True))
    def get_person(self, item: EnrichmentItem) -> dict[str, Any] | None:
        return self._details(item, ItemKind.PERSON)

    @extend_schema_field(LocationDetailsSerializer(allow_null=True))
    def get_location(self, item: EnrichmentItem) -> dict[str, Any] | None:
        return self._details(item, ItemKind.LOCATION)

    @extend_schema_field(ContactDetailsSerializer(allow_null=True))
    def get_contact(self, item: EnrichmentItem) -> dict[str, Any] | None:
        return self._details(item, ItemKind.CONTACT)

    @extend_schema_field(DateDetailsSerializer(allow_null=True))
    def get_date(self, item: EnrichmentItem) -> dict[str, Any] | None:
        return self._details(item, ItemKind.DATE)


class EnrichmentItemPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _items(request: Request, **filters: str) -> QuerySet[EnrichmentItem]:
    """The caller's items (``enrichment_item_list``), each with the message it came from."""
    return enrichment_item_list(user_id=authenticated_user(request).pk, **filters).select_related("message")


class EnrichmentItemListApi(OperationApi):
    """Your enrichment items, newest first. Filter by status (``pending`` is the review inbox), source, kind."""

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
        source = serializers.ChoiceField(choices=ItemSource.choices, required=False)  # type: ignore[assignment]
        kind = serializers.ChoiceField(choices=ItemKind.choices, required=False)

    @extend_schema(
        operation_id="enrichment_items_list",
        parameters=[
            OpenApiParameter("status", enum=ItemStatus.values),
            OpenApiParameter("source", enum=ItemSource.values),
            OpenApiParameter("kind", enum=ItemKind.values),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        responses={200: EnrichmentItemOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        items = _items(request, **filters.validated_data)
        paginator = EnrichmentItemPagination()
        page = paginator.paginate_queryset(items, request, view=self)
        assert page is not None
        return paginator.get_paginated_response(EnrichmentItemOutputSerializer(page, many=True).data)


class EnrichmentItemDetailApi(OperationApi):
    """One of your items. Other users' items are 404."""

    @extend_schema(operation_id="enrichment_item_get", responses={200: EnrichmentItemOutputSerializer})
    def get(self, request: Request, item_id: int) -> Response:
        return Response(EnrichmentItemOutputSerializer(get_object_or_404(_items(request), pk=item_id)).data)


class EnrichmentItemUpdateApi(OperationApi):
    """Review one of your items: set its status to accepted or rejected. Other users' items are 404."""

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[(s.value, s.label) for s in REVIEW_STATUSES])

        class Meta:
            ref_name = "EnrichmentItemReviewInput"

    @extend_schema(
        operation_id="enrichment_item_review",
        request=InputSerializer,
        responses={
            200: EnrichmentItemOutputSerializer,
            404: OpenApiResponse(description="No such item of yours."),
            409: OpenApiResponse(ErrorSerializer, description="item_applied"),
        },
    )
    def patch(self, request: Request, item_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = enrichment_item_review(
            user=authenticated_user(request), item_id=item_id, status=data.validated_data["status"]
        )
        return Response(EnrichmentItemOutputSerializer(_items(request).get(pk=item.pk)).data)
