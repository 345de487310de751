"""Realistic demo documents (fictitious people and places, DOMAIN.md §7 items) for the demo gallery, tests and
benchmarks: one of every registered kind."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .documents import (
    AcceptanceNotice,
    Correction,
    CorrectionNotice,
    DailyCaseLine,
    DailySheet,
    DeferredMaterial,
    DeliveryReceipt,
    ExtensionNotice,
    GapAcceptanceNotice,
    GapCommitment,
    GuideMaterial,
    HandoverManifest,
    ManifestFolder,
    MaterialsReceipt,
    ProofCommitment,
    ProxyAgent,
    ProxyAuthorization,
    RatingCard,
    RefusalDecision,
    RejectionNotice,
    ResultReadyNotice,
    ServiceGuide,
    SpecialProcedureNotice,
)
from .model import LICENSING_EXTENSION_BASIS, Issuer, ItemRef, MaterialLine, Person

VILLAGE = Issuer(
    organ="青山县青山镇石桥村民委员会",
    station="青山镇石桥村便民服务站",
    level="village",
    consult_phone="0579-86120101",
    seal_name="",
    address="青山镇石桥村村委会一楼",
    short_code="石桥",
)
TOWNSHIP = Issuer(
    organ="青山县青山镇人民政府",
    station="青山镇便民服务中心",
    level="township",
    consult_phone="0579-86120000",
    seal_name="行政审批专用章",
    address="青山镇人民路18号",
    short_code="青山便民",
)
APPLICANT = Person("张晓明", "330110198503121236", "13800138000", "青山镇石桥村3组12号")
RELATIVE_AGENT = Person("张丽华", "33011020000229004X", "13912345678", "青山镇石桥村3组12号")
PROXY = ProxyAgent("李秀英", "V01-007", "青山镇石桥村便民服务站", "13700001111", "513434196001010813")
DIBAO = ItemRef("最低生活保障申请", "990101101000-GF00201000", 3)
HOMESTEAD = ItemRef("农村宅基地和建房（规划许可）审批", "990101101000-XK00501000", 2)
CASE = "990101101000-GF00201000-20261123-V01-0007"
HOMESTEAD_CASE = "990101101000-XK00501000-20261109-T01-0031"

DIBAO_MATERIALS = (
    MaterialLine("最低生活保障申请书", "原件", 1, 2),
    MaterialLine("户口簿及家庭成员居民身份证", "复印件", 1, 4, original_returned=True),
    MaterialLine("家庭经济状况核对授权书（全体成年成员签字）", "原件", 1, 1),
    MaterialLine("家庭收入及财产申报表", "原件", 1, 3),
    MaterialLine("残疾人证", "复印件", 1, 1, original_returned=True),
    MaterialLine("在校证明", "原件", 1, 0, deferred=True, note="容缺，限期补齐"),
)


def long_material_list(count: int = 60) -> tuple[MaterialLine, ...]:
    """A receipt-sized list that cannot fit on one page."""
    return tuple(
        MaterialLine(f"第{n}项佐证材料：家庭成员医疗费用票据（{2026 - n % 5}年度）", "复印件", 1, n % 7 + 1)
        for n in range(1, count + 1)
    )


def sample_documents() -> dict[str, object]:
    """One realistic document of every registered kind, keyed by kind."""
    common: dict[str, Any] = {"case_number": CASE, "item": DIBAO, "applicant": APPLICANT}
    township: dict[str, Any] = {**common, "issuer": TOWNSHIP, "handler": "王建国"}
    return {
        "materials_receipt": MaterialsReceipt(
            doc_number="石桥收〔2026〕0007号",
            issuer=VILLAGE,
            handler="李秀英",
            issued_on=date(2026, 11, 23),
            received_at=datetime(2026, 11, 23, 9, 5),
            materials=DIBAO_MATERIALS,
            forward_to="青山镇便民服务中心",
            **common,
        ),
        "acceptance_notice": AcceptanceNotice(
            doc_number="青山便民受〔2026〕0112号",
            issued_on=date(2026, 11, 25),
            accepted_on=date(2026, 11, 25),
            materials=DIBAO_MATERIALS,
            legal_limit_days=30,
            promised_limit_days=25,
            promised_deadline=date(2026, 12, 30),
            delivery_method="代办员送达",
            acceptor_phone="0579-86120008",
            agent=RELATIVE_AGENT,
            **township,
        ),
        "correction_notice": CorrectionNotice(
            doc_number="青山便民补〔2026〕0045号",
            issued_on=date(2026, 11, 24),
            received_on=date(2026, 11, 24),
            corrections=(
                Correction("家庭经济状况核对授权书", "缺少配偶签字", "由全体成年家庭成员本人签字并按指印"),
                Correction("家庭收入及财产申报表", "未填写2026年务工收入", "补填全部收入项目，无收入的填“0”"),
                Correction("户口簿复印件", "缺少户主页", "补交户主页及本人页复印件"),
            ),
            supply_deadline=date(2026, 12, 1),
            **township,
        ),
        "rejection_notice": RejectionNotice(
            doc_number="青山便民不受〔2026〕0003号",
            issued_on=date(2026, 11, 24),
            received_on=date(2026, 11, 24),
            reason="申请人户籍不在本镇，申请事项不属于本机关职权范围",
            legal_basis="《最低生活保障审核确认办法》（民发〔2021〕57号）",
            competent_organ="申请人户籍所在地乡镇人民政府（街道办事处）",
            review_organ="青山县人民政府",
            court="青山县人民法院",
            **township,
        ),
        "gap_acceptance_notice": GapAcceptanceNotice(
            doc_number="青山便民容〔2026〕0019号",
            issued_on=date(2026, 11, 25),
            accepted_on=date(2026, 11, 25),
            deferred=(DeferredMaterial("在校证明", "代办员代交", date(2026, 12, 2)),),
            promised_deadline=date(2026, 12, 30),
            **township,
        ),
        "gap_commitment": GapCommitment(
            doc_number="青山便民容诺〔2026〕0019号",
            issued_on=date(2026, 11, 25),
            deferred=(DeferredMaterial("在校证明", "代办员代交", date(2026, 12, 2)),),
            **township,
        ),
        "proof_commitment": ProofCommitment(
            doc_number="青山便民承〔2026〕0008号",
            issued_on=date(2026, 11, 25),
            proof_name="在校证明",
            proof_content="家庭成员张小宇为全日制在校学生",
            legal_basis="《最低生活保障审核确认办法》（民发〔2021〕57号）",
            verification="通过教育部门数据共享核查；必要时于受理后10个工作日内电话或入户核实",
            **township,
        ),
        "special_procedure_notice": SpecialProcedureNotice(
            doc_number="青山便民特〔2026〕0011号",
            issued_on=date(2026, 12, 7),
            procedure="公示",
            reason="低保审核确认需在申请人所在村公示",
            starts_on=date(2026, 12, 8),
            expected_days=7,
            expected_end=date(2026, 12, 14),
            day_unit="日",
            legal_basis="《最低生活保障审核确认办法》（民发〔2021〕57号）",
            **township,
        ),
        "extension_notice": ExtensionNotice(
            doc_number="青山便民延〔2026〕0004号",
            issued_on=date(2026, 11, 30),
            case_number=HOMESTEAD_CASE,
            item=HOMESTEAD,
            applicant=APPLICANT,
            issuer=TOWNSHIP,
            handler="王建国",
            original_deadline=date(2026, 12, 7),
            extension_days=10,
            new_deadline=date(2026, 12, 21),
            reason="需组织国土、规划、农业农村部门联合现场踏勘",
            legal_basis=LICENSING_EXTENSION_BASIS,
            approver="青山镇人民政府镇长 陈立新",
        ),
        "result_ready_notice": ResultReadyNotice(
            doc_number="青山便民结〔2026〕0098号",
            issued_on=date(2026, 12, 28),
            completed_on=date(2026, 12, 28),
            outcome="granted",
            decision_number="青民低〔2026〕第0231号",
            result_documents=("最低生活保障证", "审核确认通知书"),
            collection="结果将由石桥村代办员李秀英送达，您也可于工作日到青山镇便民服务中心3号窗口领取。",
            rating_qr_payload="HP1:" + CASE,
            **township,
        ),
        "refusal_decision": RefusalDecision(
            doc_number="青山镇不许〔2026〕0002号",
            issued_on=date(2026, 12, 18),
            case_number=HOMESTEAD_CASE,
            item=HOMESTEAD,
            applicant=APPLICANT,
            issuer=TOWNSHIP,
            handler="王建国",
            accepted_on=date(2026, 11, 9),
            reasons=(
                "申请用地位于永久基本农田保护范围内，不符合村庄规划",
                "申请人家庭已有一处宅基地，且未承诺退出原宅基地",
            ),
            legal_basis="《中华人民共和国土地管理法》第六十二条",
            review_organ="青山县人民政府",
            court="青山县人民法院",
        ),
        "delivery_receipt": DeliveryReceipt(
            doc_number="青山便民送〔2026〕0120号",
            issued_on=date(2026, 12, 29),
            delivered_document="最低生活保障审核确认通知书",
            delivered_doc_number="青民低〔2026〕第0231号",
            method="代办员送达",
            delivered_at=datetime(2026, 12, 29, 15, 30),
            place="青山镇石桥村3组12号（申请人住所）",
            deliverer="李秀英",
            **township,
        ),
        "proxy_authorization": ProxyAuthorization(
            doc_number="石桥委〔2026〕0007号",
            issuer=VILLAGE,
            handler="李秀英",
            issued_on=date(2026, 11, 23),
            proxy=PROXY,
            powers=(
                "代为向青山镇便民服务中心提交申请材料",
                "代为领取补正告知书、受理通知书等过程文书",
                "代为补交容缺材料",
                "代为签收办理结果并转交委托人",
            ),
            **common,
        ),
        "handover_manifest": HandoverManifest(
            manifest_number="JJ-V01-20261123-02",
            direction="outbound",
            from_station="青山镇石桥村便民服务站",
            to_organ="青山镇便民服务中心",
            carrier=PROXY,
            dispatched_at=datetime(2026, 11, 23, 14, 0),
            issuer=VILLAGE,
            handler="周明",
            folders=(
                ManifestFolder(CASE, "张晓明", "最低生活保障申请", 6, 11, "C:" + CASE, True, ("在校证明",)),
                ManifestFolder(
                    "990101101000-GF00301000-20261123-V01-0008",
                    "王桂兰",
                    "高龄津贴申请（80周岁以上）",
                    3,
                    4,
                    "C:990101101000-GF00301000-20261123-V01-0008",
                ),
                ManifestFolder(
                    "990101101000-GF00401001-20261120-V01-0005",
                    "刘建平",
                    "困难残疾人生活补贴申请",
                    4,
                    6,
                    "C:990101101000-GF00401001-20261120-V01-0005",
                    True,
                ),
            ),
        ),
        "service_guide": ServiceGuide(
            item=DIBAO,
            item_type="行政给付",
            implementing_organ="青山县民政局（委托青山镇人民政府审核确认）",
            legal_basis=(
                "《社会救助暂行办法》（国务院令第649号）",
                "《最低生活保障审核确认办法》（民发〔2021〕57号）",
            ),
            conditions=(
                "持有本县户籍的农村居民，家庭人均收入低于当地最低生活保障标准",
                "家庭财产状况符合当地有关规定",
            ),
            materials=(
                GuideMaterial("最低生活保障申请书"),
                GuideMaterial("户口簿及家庭成员居民身份证", "原件和复印件", shareable=True),
                GuideMaterial("家庭经济状况核对授权书", note="全体成年家庭成员签字"),
                GuideMaterial("家庭收入及财产申报表"),
                GuideMaterial("残疾人证、病历等特殊情况材料", "复印件", required=False, deferrable=True),
                GuideMaterial(
                    "在校证明",
                    required=False,
                    deferrable=True,
                    replaceable_by_commitment=True,
                    source="学校出具",
                ),
            ),
            flow=(
                "申请：向户籍所在地村便民服务站或镇便民服务中心提出申请（可委托代办员代办）",
                "受理：镇便民服务中心审查材料，当场或五个工作日内告知受理或补正",
                "调查：入户调查、邻里访问、信息核对",
                "公示：在申请人所在村公示7天",
                "确认：审核确认并发放最低生活保障证",
            ),
            legal_limit_days=30,
            promised_limit_days=25,
            case_kind="承诺件",
            place="青山镇便民服务中心3号综合窗口；各村便民服务站可代办",
            hours="工作日 8:30—12:00，14:00—17:30",
            issuer=TOWNSHIP,
            issued_on=date(2026, 11, 1),
            visits=0,
            special_procedures=("入户调查", "公示7天（不计入办理时限）"),
        ),
        "rating_card": RatingCard(
            issuer=TOWNSHIP,
            issued_on=date(2026, 11, 25),
            stage="受理",
            staff_name="王建国",
            staff_number="T01-003",
            case_number=CASE,
            item=DIBAO,
            rating_qr_payload="HP1:" + CASE,
        ),
        "daily_sheet": DailySheet(
            issuer=VILLAGE,
            day=date(2026, 11, 23),
            prepared_by="李秀英",
            totals=(
                ("今日收件", 5),
                ("今日送出", 3),
                ("今日送达", 2),
                ("在办件", 4),
                ("超时件", 1),
                ("差评", 0),
            ),
            lines=(
                DailyCaseLine(CASE, "张晓明", "最低生活保障申请", "在途", "green", date(2026, 11, 26)),
                DailyCaseLine(
                    "990101101000-GF00301000-20261118-V01-0003",
                    "王桂兰",
                    "高龄津贴申请",
                    "待报送",
                    "red",
                    date(2026, 11, 21),
                ),
                DailyCaseLine(
                    "990101101000-GF00401001-20261120-V01-0005",
                    "刘建平",
                    "困难残疾人生活补贴申请",
                    "待补正",
                    "yellow",
                    date(2026, 11, 25),
                ),
                DailyCaseLine(
                    "990101101000-GF00201000-20261102-V01-0001",
                    "赵春梅",
                    "最低生活保障申请",
                    "公示中",
                    "grey",
                ),
            ),
        ),
    }
