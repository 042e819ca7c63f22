"""The ``[courier]`` section of the config (``worker/config.py``): who carries the
parcels, how postage is charged, when pickups are booked, and the settings of each
waybill provider (``worker/courier/``). A new provider's section goes here, beside
``SfConfig`` and ``KdniaoConfig``, as one field of ``CourierConfig``."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import Field, model_validator

from worker.config_types import Amount, Int, NonEmpty, Number, Section, Text, problem


class Rate(Section):
    first_kg: Amount
    extra_kg: Amount


class PickupConfig(Section):
    """When the courier collects: the close-out books a pickup for the next working
    day after it (``worker/courier/pickup.py``), between ``start`` and ``end``."""

    start: time                       # "09:00", in schedule.timezone
    end: time
    working_days: tuple[Int, ...]     # ISO weekdays, 1 = Monday
    holidays: tuple[date, ...]        # no pickup on these days

    @model_validator(mode="after")
    def _check(self) -> PickupConfig:
        if self.end <= self.start:
            raise problem("end", "is not after start")
        if not self.working_days or any(d < 1 or d > 7 for d in self.working_days):
            raise problem("working_days", "must list ISO weekdays 1 (Monday) to 7")
        return self


class SfConfig(Section):
    """SF Express open platform (丰桥), ``worker/courier/sf.py``: credentials are read
    from the environment variables named here, never from the file."""

    url: NonEmpty                     # sandbox or production service URL
    partner_env: NonEmpty             # env var holding the 顾客编码 (partnerID)
    checkword_env: NonEmpty           # env var holding the 校验码 (checkWord)
    express_type: Int = Field(ge=1)   # expressTypeId, e.g. 2 = 顺丰标快
    template: Text                    # cloud print templateCode; "" = fm_150_standard_<partnerID>
    timeout_seconds: Number


class KdniaoConfig(Section):
    """Kdniao (快递鸟), ``worker/courier/kdniao.py``: credentials from the environment."""

    url: NonEmpty                     # EbusinessOrderHandle.aspx (sandbox or production)
    business_env: NonEmpty            # env var holding EBusinessID
    key_env: NonEmpty                 # env var holding the AppKey
    customer_env: Text                # env vars of the courier's 电子面单 account, if it needs one
    customer_password_env: Text
    shipper: NonEmpty                 # ShipperCode of the courier (YTO, ZTO, STO, YD, ...)
    exp_type: NonEmpty                # ExpType, "1" = 标准快件
    template_size: NonEmpty           # TemplateSize: "150" for the 100×150 label
    timeout_seconds: Number


class CourierConfig(Section):
    provider: Literal["pool", "sf", "kdniao"]   # who gives waybills (README: switching)
    reference_prefix: NonEmpty        # our order reference sent as orderId / OrderCode
    province: NonEmpty                # 省/市 of the sender and every recipient (the programme's city)
    city: NonEmpty
    order_batch: Int = Field(ge=1)    # waybills ordered per step
    retry_minutes: Number             # first wait after a provider failure (doubles, capped at 6 h)
    track_minutes: Number             # how often undelivered parcels' routes are read
    name: NonEmpty
    email: NonEmpty
    sender_name: NonEmpty
    sender_phone: NonEmpty
    sender_address: NonEmpty
    waybill_prefix: Text
    waybill_first: Int = Field(ge=0)
    waybill_last: Int = Field(ge=0)
    envelope_grams: Int = Field(ge=0)
    invoice_grams: Int = Field(ge=0)
    rates: dict[str, Rate]            # district (or "default") -> freight collect
    pickup: PickupConfig
    sf: SfConfig
    kdniao: KdniaoConfig

    @model_validator(mode="after")
    def _check(self) -> CourierConfig:
        if "default" not in self.rates:
            raise problem("rates.default", "missing")
        if self.waybill_last < self.waybill_first:
            raise problem("waybill_last", "is below waybill_first")
        return self

    def rate_for(self, district: str) -> Rate:
        return self.rates.get(district, self.rates["default"])
