"""Waybills from the courier: one small provider interface (``base``), one module per
provider (``pool``, ``sf``, ``kdniao``) chosen by ``[courier] provider``
(``factory.provider_for``), and the steps that use it after the outcome is committed:
``ordering`` (exactly one waybill per parcel), ``pickup`` (booked at the close-out),
``tracking`` (routes of undelivered parcels). Import the submodules directly: issuing
imports ``pool`` inside the outcome transaction's module, so this package imports
nothing on its own."""
