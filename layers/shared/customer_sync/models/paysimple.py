"""PaySimple API v4 customer, with the exact JSON field names of reference/paysimple-api.md."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PaySimpleAddress(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    StreetAddress1: str | None = None
    StreetAddress2: str | None = None
    City: str | None = None
    StateCode: str | None = None
    ZipCode: str | None = None
    Country: str | None = None


class PaySimpleCustomer(BaseModel):
    """The full, current record as `GET /v4/customer/{id}` returns it inside `Response`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Id: int
    FirstName: str
    LastName: str
    MiddleName: str | None = None
    Company: str | None = None
    CustomerAccount: str | None = None
    Email: str | None = None
    AltEmail: str | None = None
    Phone: str | None = None
    AltPhone: str | None = None
    MobilePhone: str | None = None
    Fax: str | None = None
    Website: str | None = None
    Notes: str | None = None
    BillingAddress: PaySimpleAddress | None = None
    ShippingAddress: PaySimpleAddress | None = None
    ShippingSameAsBilling: bool = False
    CreatedOn: datetime | None = None
    LastModified: datetime | None = None


class CustomerPage(BaseModel):
    """One page of `GET /v4/customer?page=N&pagesize=M`, with `Meta.PagingDetails` flattened."""

    model_config = ConfigDict(frozen=True)

    items: list[PaySimpleCustomer]
    total_items: int = Field(ge=0)
    page: int = Field(ge=1)
    items_per_page: int = Field(ge=1)

    @property
    def has_next_page(self) -> bool:
        return self.page * self.items_per_page < self.total_items
