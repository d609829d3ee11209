"""Enrichment review API: list your items, accept or reject one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sms.api.common import ErrorSerializer, authenticated_user
from sms.models import EnrichmentItem, ItemKind, ItemSource, ItemStatus
from sms.selectors import enrichment_item_list
from sms.services.review import REVIEW_STATUSES, enrichment_item_review


class EnrichmentItemOutputSerializer(serializers.ModelSerializer):
    message_sid = serializers.CharField(source="message.message_sid", allow_null=True, default=None)

    class Meta:
        model = EnrichmentItem
        fields = ("id", "kind", "value", "source", "status", "metadata", "message_sid", "media", "created_at")
        read_only_fields = fields


class EnrichmentItemPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class EnrichmentItemListApi(APIView):
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
        items = enrichment_item_list(user_id=authenticated_user(request).pk, **filters.validated_data).select_related(
            "message"
        )
        paginator = EnrichmentItemPagination()
        page = paginator.paginate_queryset(items, request, view=self)
        assert page is not None
        return paginator.get_paginated_response(EnrichmentItemOutputSerializer(page, many=True).data)


class EnrichmentItemDetailApi(APIView):
    """One of your items; PATCH its status to accepted or rejected. Other users' items are 404."""

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[(s.value, s.label) for s in REVIEW_STATUSES])

        class Meta:
            ref_name = "EnrichmentItemReviewInput"

    @extend_schema(operation_id="enrichment_item_get", responses={200: EnrichmentItemOutputSerializer})
    def get(self, request: Request, item_id: int) -> Response:
        items = enrichment_item_list(user_id=authenticated_user(request).pk).select_related("message")
        return Response(EnrichmentItemOutputSerializer(get_object_or_404(items, pk=item_id)).data)

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
        item = enrichment_item_list(user_id=authenticated_user(request).pk).select_related("message").get(pk=item.pk)
        return Response(EnrichmentItemOutputSerializer(item).data)
