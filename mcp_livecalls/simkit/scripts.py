"""Invented data the simulator draws from: names, numbers, and scripted AI-agent conversations.

All of it is fictional. Phone numbers are random Indian mobile numbers (``+91`` then 6-9 and nine
digits), IP addresses come from the documentation ranges of RFC 5737.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FIRST_NAMES",
    "LAST_NAMES",
    "SCENARIOS",
    "VOICE_AGENT_NAMES",
    "Scenario",
    "ToolCall",
]

FIRST_NAMES: tuple[str, ...] = (
    "Aarav", "Aditi", "Ananya", "Arjun", "Deepika", "Farhan", "Gauri", "Harish", "Ishaan", "Jaya",
    "Kabir", "Kavya", "Lakshmi", "Manoj", "Meera", "Nikhil", "Neha", "Omkar", "Pooja", "Pranav",
    "Rahul", "Riya", "Sanjay", "Shreya", "Sneha", "Tanvi", "Uday", "Varun", "Vidya", "Zoya",
    "Anil", "Bhavna", "Chetan", "Divya", "Esha", "Girish", "Hema", "Imran", "Kiran", "Naveen",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Sharma", "Verma", "Iyer", "Nair", "Reddy", "Patel", "Shah", "Gupta", "Menon", "Rao",
    "Khan", "Das", "Banerjee", "Mukherjee", "Pillai", "Kulkarni", "Joshi", "Desai", "Singh", "Bose",
)  # fmt: skip

VOICE_AGENT_NAMES: tuple[str, ...] = (
    "Priya (support)",
    "Vikram (collections)",
    "Asha (appointments)",
    "Rohan (sales)",
    "Maya (delivery)",
)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool the AI agent calls after the turn with index ``after_turn``."""

    after_turn: int
    name: str
    arguments: str
    result: str


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted conversation between the AI agent ("assistant") and the caller ("user")."""

    name: str
    summary: str
    turns: tuple[tuple[str, str], ...]
    tools: tuple[ToolCall, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="order_status",
        summary="The caller asked where their order is; the agent found it and gave a delivery date.",
        turns=(
            ("assistant", "Hello, thank you for calling. How can I help you today?"),
            ("user", "Hi, I placed an order last week and it still has not arrived."),
            ("assistant", "I am sorry about that. Could you tell me your order number please?"),
            ("user", "Sure, it is four five seven two nine one."),
            ("assistant", "Thank you. Let me check that for you."),
            ("assistant", "Your order left our Bengaluru warehouse yesterday and should arrive on Thursday."),
            ("user", "Okay, can I get the tracking link on WhatsApp?"),
            ("assistant", "Of course, I have sent the tracking link to this number on WhatsApp."),
            ("user", "Great, thanks a lot."),
            ("assistant", "You are welcome. Is there anything else I can help you with?"),
            ("user", "No, that is all."),
            ("assistant", "Thank you for calling. Have a nice day."),
        ),
        tools=(
            ToolCall(4, "lookup_order", '{"order_id": "457291"}', '{"status": "shipped", "eta": "Thursday"}'),
            ToolCall(7, "send_whatsapp", '{"template": "tracking_link"}', '{"sent": true}'),
        ),
        metadata=(("campaign", "support-inbound"), ("priority", "normal")),
    ),
    Scenario(
        name="appointment",
        summary="The caller booked a clinic appointment for Saturday morning.",
        turns=(
            ("assistant", "Namaste, you have reached City Care Clinic. How may I help you?"),
            ("user", "I would like to book an appointment with Doctor Menon."),
            ("assistant", "Certainly. Which day works best for you?"),
            ("user", "Saturday morning if possible."),
            ("assistant", "Let me look at the calendar."),
            ("assistant", "Doctor Menon is free at ten thirty on Saturday. Shall I book it?"),
            ("user", "Yes please."),
            ("assistant", "Done. May I have the patient's full name?"),
            ("user", "It is for my mother, Lakshmi Iyer."),
            ("assistant", "Thank you. The appointment is confirmed and you will get an SMS shortly."),
            ("user", "Thanks, bye."),
        ),
        tools=(
            ToolCall(4, "check_calendar", '{"doctor": "menon", "day": "saturday"}', '{"slots": ["10:30"]}'),
            ToolCall(9, "book_slot", '{"slot": "10:30"}', '{"booking_id": "BK-2231"}'),
        ),
        metadata=(("campaign", "clinic-bookings"), ("priority", "high")),
    ),
    Scenario(
        name="payment_reminder",
        summary="The agent reminded the customer of a due EMI; the customer promised to pay on Friday.",
        turns=(
            (
                "assistant",
                "Hello, this is a reminder call from Sunrise Finance. Am I speaking with the account holder?",
            ),
            ("user", "Yes, speaking."),
            (
                "assistant",
                "Your EMI of four thousand two hundred rupees was due on the fifth. Can you pay this week?",
            ),
            ("user", "I got my salary late this month. Can I pay on Friday?"),
            ("assistant", "Friday is fine. I will note a promise to pay for Friday."),
            ("user", "Will there be a late fee?"),
            ("assistant", "If you pay by Friday there will be no additional late fee."),
            ("user", "Okay, I will pay on Friday."),
            ("assistant", "Thank you. You will receive a payment link by SMS."),
        ),
        tools=(ToolCall(4, "record_promise_to_pay", '{"date": "friday"}', '{"ok": true}'),),
        metadata=(("campaign", "collections-nov"), ("priority", "high")),
    ),
    Scenario(
        name="lead_qualification",
        summary="A prospect asked about broadband plans and accepted a callback from sales.",
        turns=(
            (
                "assistant",
                "Hi, I am calling from FastNet Broadband about the enquiry you made on our website.",
            ),
            ("user", "Oh yes, I wanted to know about the fibre plans."),
            (
                "assistant",
                "We have plans from one hundred to one thousand megabits. What do you use the internet for?",
            ),
            ("user", "Work from home and streaming, mostly."),
            (
                "assistant",
                "Then the three hundred megabit plan at seven ninety nine a month would suit you well.",
            ),
            ("user", "Is installation free?"),
            (
                "assistant",
                "Yes, installation is free this month. Would you like a sales executive to call you back?",
            ),
            ("user", "Yes, tomorrow evening is good."),
            ("assistant", "I have scheduled a callback for tomorrow at six pm. Thank you for your time."),
        ),
        tools=(ToolCall(8, "schedule_callback", '{"when": "tomorrow 18:00"}', '{"ticket": "CB-9912"}'),),
        metadata=(("campaign", "broadband-leads"), ("priority", "normal")),
    ),
    Scenario(
        name="delivery_reschedule",
        summary="The customer moved a delivery to the next day because nobody is home.",
        turns=(
            (
                "assistant",
                "Hello, this is QuickShip. We have a delivery for you today. Will someone be at home?",
            ),
            ("user", "No, nobody is home today. Can you deliver tomorrow?"),
            ("assistant", "Sure. Would the morning or the evening be better tomorrow?"),
            ("user", "Evening, after six."),
            ("assistant", "Done, your delivery is moved to tomorrow evening after six."),
            ("user", "Thank you."),
        ),
        tools=(ToolCall(4, "reschedule_delivery", '{"window": "tomorrow 18-21"}', '{"ok": true}'),),
        metadata=(("campaign", "last-mile"),),
    ),
    Scenario(
        name="complaint",
        summary="An upset caller reported a double charge; the agent raised a refund ticket.",
        turns=(
            ("assistant", "Hello, thank you for calling. How can I help you today?"),
            ("user", "I was charged twice for the same recharge and I am really not happy about it."),
            ("assistant", "I am sorry for the trouble. Could you share the registered mobile number?"),
            ("user", "It is the number I am calling from."),
            ("assistant", "I can see two charges of two hundred and ninety nine rupees on the twelfth."),
            ("user", "Yes, exactly. I want my money back."),
            (
                "assistant",
                "I have raised a refund request. The amount will be credited in five to seven days.",
            ),
            ("user", "Five to seven days? That is too long."),
            ("assistant", "I understand. I have marked the request as priority so it may be faster."),
            ("user", "Okay. Please make sure it happens."),
            ("assistant", "It will. Your ticket number has been sent by SMS. Anything else I can do?"),
            ("user", "No."),
        ),
        tools=(ToolCall(6, "create_refund_ticket", '{"amount": 299}', '{"ticket": "RF-5531"}'),),
        metadata=(("campaign", "support-inbound"), ("priority", "urgent")),
    ),
)
