"""FastAPI + SQLAlchemy async: the database peer of the service's
`GET /items/<id>` (bench/database.py).

The same table as the service's `items`, the same query (`session.get` by
id, in a session of its own per request, committed when the request ends),
the same engine options and a pydantic response model, written as FastAPI's
docs write it (a session dependency, `response_model`). DATABASE_URL comes
from the environment.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    quantity: Mapped[int] = mapped_column(default=0)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    quantity: int


engine = create_async_engine(
    os.environ["DATABASE_URL"],
    pool_pre_ping=True,
    hide_parameters=True,
    pool_size=5,
    max_overflow=10,
)
sessions = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
        await session.commit()


Session = Annotated[AsyncSession, Depends(get_session)]


@app.get("/items/{item_id}", response_model=ItemOut)
async def read_item(item_id: int, session: Session) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"there is no item {item_id}")
    return item
