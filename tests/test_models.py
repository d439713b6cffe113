import pytest
from pydantic import ValidationError

from extractor.models import Commitment, Project, Target, chinese_numeral, parse_number


def target(**kw):
    base = dict(indicator="地区生产总值", status="planned", measure="growth", comparator="about",
                year=2024, evidence="地区生产总值增长5.5%左右", value=5.5, unit="%")
    return Target(**{**base, **kw})


def test_numbers_llms_write_are_repaired():
    assert target(value="５.５%").value == 5.5
    assert target(value="5.5%").value == 5.5
    assert target(unit="%左右").unit == "%"
    assert target(year="2024年").year == 2024
    assert parse_number("170多") == 170
    assert parse_number("十") == 10 and chinese_numeral("二十三") == 23 and chinese_numeral("一百零五") == 105


def test_impossible_values_are_rejected():
    with pytest.raises(ValidationError):
        target(value="很多")
    with pytest.raises(ValidationError):
        target(status="someday")
    with pytest.raises(ValidationError):
        target(value=None)  # quantified target without a value
    with pytest.raises(ValidationError):
        target(surprise="field")


def test_comparators_follow_values():
    assert target(value_max=7, comparator="equal").comparator == "range"
    q = target(comparator="qualitative", value=3, unit="%", qualifier="与经济增长基本同步")
    assert q.value is None and q.unit is None
    c = Commitment(description="新增停车位", quantity="1400", unit="个", year=2023, evidence="增加停车位1400个")
    assert c.comparator == "equal" and c.quantity == 1400
    assert Commitment(description="提升办学质量", year=2023, evidence="提升办学质量").comparator == "none"
    assert Project(name="年产7万吨铝基新材料", year=2023, evidence="建成投产年产7万吨铝基新材料").status == "unknown"
